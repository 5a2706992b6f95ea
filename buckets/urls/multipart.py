from django.urls import path

from buckets import object_views

urlpatterns = [
    path("", object_views.multipart_list, name="multipart_list"),
    path("abort/", object_views.multipart_abort, name="multipart_abort"),
    path("abort-all/", object_views.multipart_abort_all, name="multipart_abort_all"),
]
