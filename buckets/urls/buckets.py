from django.urls import path

from buckets import bucket_views, views

urlpatterns = [
    path("buckets/", views.bucket_list, name="bucket_list"),
    path("buckets/new/", bucket_views.bucket_create, name="bucket_create"),
    path("buckets/new/name/", bucket_views.bucket_name_suggest, name="bucket_name_suggest"),
    path("endpoints/<int:endpoint_pk>/sync/", views.bucket_sync, name="bucket_sync"),
]
bucket_patterns = [
    path("", bucket_views.bucket_detail, name="bucket_detail"),
]
