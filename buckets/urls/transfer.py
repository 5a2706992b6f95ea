from django.urls import path

from buckets import transfer_views

urlpatterns = [
    path("object/copy/", transfer_views.object_transfer, {"op": "copy"}, name="object_copy"),
    path("object/move/", transfer_views.object_transfer, {"op": "move"}, name="object_move"),
    path("object/rename/", transfer_views.object_rename, name="object_rename"),
    path("object/delete/", transfer_views.object_delete, name="object_delete"),
    path("selection/copy/", transfer_views.selection_review, {"op": "copy"}, name="selection_copy"),
    path("selection/move/", transfer_views.selection_review, {"op": "move"}, name="selection_move"),
    path("selection/delete/", transfer_views.selection_review, {"op": "delete"}, name="selection_delete_review"),
    path("selection/copy/run/", transfer_views.selection_transfer, {"op": "copy"}, name="selection_copy_run"),
    path("selection/move/run/", transfer_views.selection_transfer, {"op": "move"}, name="selection_move_run"),
    path("selection/delete/run/", transfer_views.selection_delete, name="selection_delete"),
    path("prefix/copy/", transfer_views.prefix_transfer, {"op": "copy"}, name="prefix_copy"),
    path("prefix/move/", transfer_views.prefix_transfer, {"op": "move"}, name="prefix_move"),
    path("prefix/rename/", transfer_views.prefix_rename, name="prefix_rename"),
    path("prefix/delete/", transfer_views.prefix_delete, name="prefix_delete"),
]
