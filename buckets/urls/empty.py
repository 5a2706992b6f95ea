from django.urls import path

from buckets import empty_views

urlpatterns = [
    path("empty/", empty_views.bucket_empty, name="bucket_empty"),
    path("delete/", empty_views.bucket_delete, name="bucket_delete"),
    path("count/", empty_views.bucket_count, name="bucket_count"),
]
