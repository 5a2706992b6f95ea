from django.urls import path

from buckets.views import buckets

urlpatterns = [
    path("buckets/", buckets.bucket_list, name="bucket_list"),
    path("buckets/new/", buckets.bucket_create, name="bucket_create"),
    path("buckets/new/name/", buckets.bucket_name_suggest, name="bucket_name_suggest"),
    path("endpoints/<int:endpoint_pk>/sync/", buckets.bucket_sync, name="bucket_sync"),
    path("endpoints/sync/", buckets.bucket_sync_all, name="bucket_sync_all"),
]
bucket_patterns = [
    path("", buckets.bucket_detail, name="bucket_detail"),
]
