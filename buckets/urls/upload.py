from django.urls import path

from buckets import upload_views

urlpatterns = [
    path("panel/", upload_views.upload_panel, name="upload_panel"),
    path("cors/", upload_views.upload_cors_allow, name="upload_cors_allow"),
    path("start/", upload_views.upload_start, name="upload_start"),
    path("urls/", upload_views.upload_part_urls, name="upload_part_urls"),
    path("part/", upload_views.upload_part, name="upload_part"),
    path("put/", upload_views.upload_put, name="upload_put"),
    path("complete/", upload_views.upload_complete, name="upload_complete"),
    path("abort/", upload_views.upload_abort, name="upload_abort"),
]
