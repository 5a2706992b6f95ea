"""The buckets app's URLs: one module per area, bucket-scoped areas under ``b/<endpoint>/<bucket>/``.

Keys never appear in paths: they travel in the query string (``?key=``, ``?prefix=``).
"""

from django.urls import include, path

from buckets.urls import buckets, bulk, empty, jobs, multipart, objects, settings, transfer, upload, versions

bucket_scoped = [
    *buckets.bucket_patterns,
    path("settings/", include(settings.urlpatterns)),
    *objects.urlpatterns,
    *versions.urlpatterns,
    path("uploads/", include(multipart.urlpatterns)),
    path("upload/", include(upload.urlpatterns)),
    *transfer.urlpatterns,
    *empty.urlpatterns,
    *bulk.urlpatterns,
]

urlpatterns = [
    *buckets.urlpatterns,
    *jobs.urlpatterns,
    path("b/<int:endpoint_pk>/<str:bucket>/", include(bucket_scoped)),
]
