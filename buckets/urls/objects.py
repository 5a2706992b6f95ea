from django.urls import path

from buckets import object_views

urlpatterns = [
    path("objects/", object_views.object_list, name="object_list"),
    path("object/", object_views.object_detail, name="object_detail"),
    path("object/download/", object_views.object_download, name="object_download"),
    path("object/share/", object_views.object_share, name="object_share"),
    path("object/metadata/", object_views.object_metadata, name="object_metadata"),
    path("object/metadata/edit/", object_views.object_metadata_edit, name="object_metadata_edit"),
    path("object/tags/", object_views.object_tags, name="object_tags"),
    path("object/tags/edit/", object_views.object_tags_edit, name="object_tags_edit"),
    path("object/acl/", object_views.object_acl, name="object_acl"),
    path("object/acl/edit/", object_views.object_acl_edit, name="object_acl_edit"),
    path("object/storage/", object_views.object_storage, name="object_storage"),
    path("object/storage/edit/", object_views.object_storage_edit, name="object_storage_edit"),
]
