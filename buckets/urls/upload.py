from django.urls import path

from buckets.views import upload

urlpatterns = [
    path("panel/", upload.upload_panel, name="upload_panel"),
    path("cors/", upload.upload_cors_allow, name="upload_cors_allow"),
    path("start/", upload.upload_start, name="upload_start"),
    path("urls/", upload.upload_part_urls, name="upload_part_urls"),
    path("part/", upload.upload_part, name="upload_part"),
    path("put/", upload.upload_put, name="upload_put"),
    path("complete/", upload.upload_complete, name="upload_complete"),
    path("abort/", upload.upload_abort, name="upload_abort"),
]
