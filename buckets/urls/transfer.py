from django.urls import path

from buckets.views import transfer

urlpatterns = [
    path("object/copy/", transfer.object_transfer, {"op": "copy"}, name="object_copy"),
    path("object/move/", transfer.object_transfer, {"op": "move"}, name="object_move"),
    path("object/rename/", transfer.object_rename, name="object_rename"),
    path("object/delete/", transfer.object_delete, name="object_delete"),
    path("selection/copy/", transfer.selection_review, {"op": "copy"}, name="selection_copy"),
    path("selection/move/", transfer.selection_review, {"op": "move"}, name="selection_move"),
    path("selection/delete/", transfer.selection_review, {"op": "delete"}, name="selection_delete_review"),
    path("selection/copy/run/", transfer.selection_transfer, {"op": "copy"}, name="selection_copy_run"),
    path("selection/move/run/", transfer.selection_transfer, {"op": "move"}, name="selection_move_run"),
    path("selection/delete/run/", transfer.selection_delete, name="selection_delete"),
    path("prefix/copy/", transfer.prefix_transfer, {"op": "copy"}, name="prefix_copy"),
    path("prefix/move/", transfer.prefix_transfer, {"op": "move"}, name="prefix_move"),
    path("prefix/rename/", transfer.prefix_rename, name="prefix_rename"),
    path("prefix/delete/", transfer.prefix_delete, name="prefix_delete"),
]
