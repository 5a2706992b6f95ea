"""Bulk actions over a folder or a selection (buckets/views/bulk.py); their jobs are in urls/jobs.py."""

from django.urls import path

from buckets.views import bulk

urlpatterns = [
    path("bulk/", bulk.bulk_new, name="bulk_new"),
    path("bulk/review/", bulk.bulk_review, name="bulk_review"),
    path("bulk/start/", bulk.bulk_start, name="bulk_start"),
]
