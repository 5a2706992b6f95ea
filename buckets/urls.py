from django.urls import path

from buckets import empty_views, upload_views, views

urlpatterns = [
    path("buckets/", views.bucket_list, name="bucket_list"),
    path("endpoints/<int:endpoint_pk>/sync/", views.bucket_sync, name="bucket_sync"),
    path("jobs/<uuid:pk>/", views.job_detail, name="job_detail"),
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
]
