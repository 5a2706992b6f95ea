from django.urls import path

from buckets import object_views

urlpatterns = [
    path("object/versions/", object_views.object_versions, name="object_versions"),
    path("object/versions/restore/", object_views.object_version_restore, name="object_version_restore"),
    path("object/versions/delete/", object_views.object_version_delete, name="object_version_delete"),
    path("object/undelete/", object_views.object_undelete, name="object_undelete"),
]
