from django.urls import path

from buckets.views import multipart

urlpatterns = [
    path("", multipart.multipart_list, name="multipart_list"),
    path("abort/", multipart.multipart_abort, name="multipart_abort"),
    path("abort-all/", multipart.multipart_abort_all, name="multipart_abort_all"),
]
