from django.urls import path

from buckets import bucket_views, empty_views, upload_views, views
from buckets import object_views as ov
from buckets import settings_views as sv
from buckets import transfer_views as tv

urlpatterns = [
    path("buckets/", views.bucket_list, name="bucket_list"),
    path("endpoints/<int:endpoint_pk>/sync/", views.bucket_sync, name="bucket_sync"),
    path("jobs/<uuid:pk>/", views.job_detail, name="job_detail"),
    # bucket creation and the bucket page with its settings (buckets/bucket_views.py, settings_views.py)
    path("buckets/new/", bucket_views.bucket_create, name="bucket_create"),
    path("buckets/new/name/", bucket_views.bucket_name_suggest, name="bucket_name_suggest"),
    path("b/<int:endpoint_pk>/<str:bucket>/", bucket_views.bucket_detail, name="bucket_detail"),
    path("b/<int:endpoint_pk>/<str:bucket>/settings/policy/editor/", sv.policy_editor, name="bucket_policy_editor"),
    path("b/<int:endpoint_pk>/<str:bucket>/settings/policy/review/", sv.policy_review, name="bucket_policy_review"),
    path("b/<int:endpoint_pk>/<str:bucket>/settings/acl/canned/", sv.acl_canned, name="bucket_acl_canned"),
    path("b/<int:endpoint_pk>/<str:bucket>/settings/lifecycle/rule/", sv.lifecycle_rule_edit, name="lifecycle_rule"),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/settings/lifecycle/rule/save/",
        sv.lifecycle_rule_save,
        name="lifecycle_rule_save",
    ),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/settings/lifecycle/rule/delete/",
        sv.lifecycle_rule_delete,
        name="lifecycle_rule_delete",
    ),
    path("b/<int:endpoint_pk>/<str:bucket>/settings/<slug:setting>/", sv.setting_show, name="bucket_setting"),
    path("b/<int:endpoint_pk>/<str:bucket>/settings/<slug:setting>/edit/", sv.setting_edit, name="bucket_setting_edit"),
    path("b/<int:endpoint_pk>/<str:bucket>/settings/<slug:setting>/save/", sv.setting_save, name="bucket_setting_save"),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/settings/<slug:setting>/remove/",
        sv.setting_remove,
        name="bucket_setting_remove",
    ),
    # browsing, the object page, links, versions, incomplete uploads (buckets/object_views.py)
    path("b/<int:endpoint_pk>/<str:bucket>/objects/", ov.object_list, name="object_list"),
    path("b/<int:endpoint_pk>/<str:bucket>/object/", ov.object_detail, name="object_detail"),
    path("b/<int:endpoint_pk>/<str:bucket>/object/download/", ov.object_download, name="object_download"),
    path("b/<int:endpoint_pk>/<str:bucket>/object/share/", ov.object_share, name="object_share"),
    path("b/<int:endpoint_pk>/<str:bucket>/object/metadata/", ov.object_metadata, name="object_metadata"),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/object/metadata/edit/",
        ov.object_metadata_edit,
        name="object_metadata_edit",
    ),
    path("b/<int:endpoint_pk>/<str:bucket>/object/tags/", ov.object_tags, name="object_tags"),
    path("b/<int:endpoint_pk>/<str:bucket>/object/tags/edit/", ov.object_tags_edit, name="object_tags_edit"),
    path("b/<int:endpoint_pk>/<str:bucket>/object/acl/", ov.object_acl, name="object_acl"),
    path("b/<int:endpoint_pk>/<str:bucket>/object/acl/edit/", ov.object_acl_edit, name="object_acl_edit"),
    path("b/<int:endpoint_pk>/<str:bucket>/object/storage/", ov.object_storage, name="object_storage"),
    path("b/<int:endpoint_pk>/<str:bucket>/object/storage/edit/", ov.object_storage_edit, name="object_storage_edit"),
    path("b/<int:endpoint_pk>/<str:bucket>/object/versions/", ov.object_versions, name="object_versions"),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/object/versions/restore/",
        ov.object_version_restore,
        name="object_version_restore",
    ),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/object/versions/delete/",
        ov.object_version_delete,
        name="object_version_delete",
    ),
    path("b/<int:endpoint_pk>/<str:bucket>/object/undelete/", ov.object_undelete, name="object_undelete"),
    path("b/<int:endpoint_pk>/<str:bucket>/uploads/", ov.multipart_list, name="multipart_list"),
    path("b/<int:endpoint_pk>/<str:bucket>/uploads/abort/", ov.multipart_abort, name="multipart_abort"),
    path("b/<int:endpoint_pk>/<str:bucket>/uploads/abort-all/", ov.multipart_abort_all, name="multipart_abort_all"),
    # whole-bucket jobs: empty, delete, count (buckets/empty_views.py)
    path("b/<int:endpoint_pk>/<str:bucket>/empty/", empty_views.bucket_empty, name="bucket_empty"),
    path("b/<int:endpoint_pk>/<str:bucket>/delete/", empty_views.bucket_delete, name="bucket_delete"),
    path("b/<int:endpoint_pk>/<str:bucket>/count/", empty_views.bucket_count, name="bucket_count"),
    # uploads (buckets/upload_views.py)
    path("b/<int:endpoint_pk>/<str:bucket>/upload/panel/", upload_views.upload_panel, name="upload_panel"),
    path("b/<int:endpoint_pk>/<str:bucket>/upload/cors/", upload_views.upload_cors_allow, name="upload_cors_allow"),
    path("b/<int:endpoint_pk>/<str:bucket>/upload/start/", upload_views.upload_start, name="upload_start"),
    path("b/<int:endpoint_pk>/<str:bucket>/upload/urls/", upload_views.upload_part_urls, name="upload_part_urls"),
    path("b/<int:endpoint_pk>/<str:bucket>/upload/part/", upload_views.upload_part, name="upload_part"),
    path("b/<int:endpoint_pk>/<str:bucket>/upload/put/", upload_views.upload_put, name="upload_put"),
    path("b/<int:endpoint_pk>/<str:bucket>/upload/complete/", upload_views.upload_complete, name="upload_complete"),
    path("b/<int:endpoint_pk>/<str:bucket>/upload/abort/", upload_views.upload_abort, name="upload_abort"),
    # copy, move, rename, delete of objects, selections and folders (buckets/transfer_views.py)
    path("b/<int:endpoint_pk>/<str:bucket>/object/copy/", tv.object_transfer, {"op": "copy"}, name="object_copy"),
    path("b/<int:endpoint_pk>/<str:bucket>/object/move/", tv.object_transfer, {"op": "move"}, name="object_move"),
    path("b/<int:endpoint_pk>/<str:bucket>/object/rename/", tv.object_rename, name="object_rename"),
    path("b/<int:endpoint_pk>/<str:bucket>/object/delete/", tv.object_delete, name="object_delete"),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/selection/copy/",
        tv.selection_review,
        {"op": "copy"},
        name="selection_copy",
    ),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/selection/move/",
        tv.selection_review,
        {"op": "move"},
        name="selection_move",
    ),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/selection/delete/",
        tv.selection_review,
        {"op": "delete"},
        name="selection_delete_review",
    ),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/selection/copy/run/",
        tv.selection_transfer,
        {"op": "copy"},
        name="selection_copy_run",
    ),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/selection/move/run/",
        tv.selection_transfer,
        {"op": "move"},
        name="selection_move_run",
    ),
    path("b/<int:endpoint_pk>/<str:bucket>/selection/delete/run/", tv.selection_delete, name="selection_delete"),
    path("b/<int:endpoint_pk>/<str:bucket>/prefix/copy/", tv.prefix_transfer, {"op": "copy"}, name="prefix_copy"),
    path("b/<int:endpoint_pk>/<str:bucket>/prefix/move/", tv.prefix_transfer, {"op": "move"}, name="prefix_move"),
    path("b/<int:endpoint_pk>/<str:bucket>/prefix/rename/", tv.prefix_rename, name="prefix_rename"),
    path("b/<int:endpoint_pk>/<str:bucket>/prefix/delete/", tv.prefix_delete, name="prefix_delete"),
]
