from django.urls import path

from buckets.views import versions

urlpatterns = [
    path("object/versions/", versions.object_versions, name="object_versions"),
    path("object/versions/restore/", versions.object_version_restore, name="object_version_restore"),
    path("object/versions/delete/", versions.object_version_delete, name="object_version_delete"),
    path("object/undelete/", versions.object_undelete, name="object_undelete"),
]
