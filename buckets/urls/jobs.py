from django.urls import path

from buckets.views import jobs

urlpatterns = [
    path("jobs/<uuid:pk>/", jobs.job_detail, name="job_detail"),
]
