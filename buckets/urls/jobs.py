from django.urls import path

from buckets.views import jobs

urlpatterns = [
    path("jobs/<uuid:pk>/", jobs.job_detail, name="job_detail"),
    path("jobs/<uuid:pk>/pause/", jobs.job_control, {"verb": "pause"}, name="job_pause"),
    path("jobs/<uuid:pk>/resume/", jobs.job_control, {"verb": "resume"}, name="job_resume"),
    path("jobs/<uuid:pk>/cancel/", jobs.job_control, {"verb": "cancel"}, name="job_cancel"),
    path("jobs/<uuid:pk>/report.csv", jobs.job_report, name="job_report"),
]
