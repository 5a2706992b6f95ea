from django.contrib.auth import views as auth_views
from django.urls import include, path

from console import audit_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("endpoints/", views.endpoint_list, name="endpoint_list"),
    path("endpoints/new/", views.endpoint_create, name="endpoint_create"),
    path("endpoints/<int:pk>/edit/", views.endpoint_edit, name="endpoint_edit"),
    path("endpoints/<int:pk>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("endpoints/<int:pk>/check/", views.endpoint_check, name="endpoint_check"),
    path("users/", views.user_list, name="user_list"),
    path("audit/", audit_views.audit_list, name="audit_list"),
    path("audit/<int:pk>/", audit_views.audit_detail, name="audit_detail"),
    path("audit/history/", audit_views.audit_history, name="audit_history"),
    path("audit/export.csv", audit_views.audit_export_csv, name="audit_export_csv"),
    path("audit/export.jsonl", audit_views.audit_export_jsonl, name="audit_export_jsonl"),
    path("", include("buckets.urls")),
]
