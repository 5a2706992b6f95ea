from django.urls import path

from buckets.views import empty

urlpatterns = [
    path("empty/", empty.bucket_empty, name="bucket_empty"),
    path("delete/", empty.bucket_delete, name="bucket_delete"),
    path("count/", empty.bucket_count, name="bucket_count"),
]
