from django.contrib.auth import views as auth_views
from django.urls import include, path

from console import otp_views, user_views, views

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
    path("users/", user_views.user_list, name="user_list"),
    path("users/new/", user_views.user_create, name="user_create"),
    path("users/<int:pk>/", user_views.user_detail, name="user_detail"),
    path("users/<int:pk>/deactivate/", user_views.user_deactivate, name="user_deactivate"),
    path("users/<int:pk>/reactivate/", user_views.user_reactivate, name="user_reactivate"),
    path("users/<int:pk>/password/", user_views.user_set_password, name="user_set_password"),
    path("users/<int:pk>/password-link/", user_views.user_password_link, name="user_password_link"),
    path("users/<int:pk>/roles/", user_views.user_role_assign, name="user_role_assign"),
    path("users/<int:pk>/2fa/require/", user_views.user_otp_require, name="user_otp_require"),
    path("users/<int:pk>/2fa/reset/", user_views.user_otp_reset, name="user_otp_reset"),
    path("roles/<int:pk>/remove/", user_views.role_remove, name="role_remove"),
    path("groups/new/", user_views.group_create, name="group_create"),
    path("groups/<int:pk>/", user_views.group_detail, name="group_detail"),
    path("groups/<int:pk>/delete/", user_views.group_delete, name="group_delete"),
    path("groups/<int:pk>/members/", user_views.group_member_add, name="group_member_add"),
    path("groups/<int:pk>/members/<int:user_pk>/remove/", user_views.group_member_remove, name="group_member_remove"),
    path("groups/<int:pk>/roles/", user_views.group_role_assign, name="group_role_assign"),
    path("access/bucket/<int:endpoint_pk>/<str:bucket>/", user_views.bucket_access, name="bucket_access"),
    path("password/set/<uidb64>/<token>/", user_views.SetPasswordLinkView.as_view(), name="set_password_link"),
    path("account/2fa/", otp_views.otp_setup, name="otp_setup"),
    path("account/2fa/verify/", otp_views.otp_verify, name="otp_verify"),
    path("account/2fa/disable/", otp_views.otp_disable, name="otp_disable"),
    path("audit/", views.audit_list, name="audit_list"),
    path("", include("buckets.urls")),
]
