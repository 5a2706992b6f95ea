from django.urls import path

from buckets import views

urlpatterns = [
    path("buckets/", views.bucket_list, name="bucket_list"),
    path("endpoints/<int:endpoint_pk>/sync/", views.bucket_sync, name="bucket_sync"),
    path("jobs/<uuid:pk>/", views.job_detail, name="job_detail"),
]
