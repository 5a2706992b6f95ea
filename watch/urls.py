from django.urls import path

from watch import views

urlpatterns = [
    path("alerts/", views.alerts_overview, name="alerts_overview"),
    path("alerts/rules/new/", views.alert_rule_form, name="alert_rule_create"),
    path("alerts/rules/<int:pk>/", views.alert_rule_form, name="alert_rule_edit"),
    path("alerts/rules/<int:pk>/delete/", views.alert_rule_delete, name="alert_rule_delete"),
    path("alerts/destinations/new/", views.alert_destination_form, name="alert_destination_create"),
    path("alerts/destinations/<int:pk>/", views.alert_destination_form, name="alert_destination_edit"),
    path("alerts/destinations/<int:pk>/delete/", views.alert_destination_delete, name="alert_destination_delete"),
    path("alerts/destinations/<int:pk>/test/", views.alert_destination_test, name="alert_destination_test"),
    path("alerts/deliveries/<int:pk>/retry/", views.alert_delivery_retry, name="alert_delivery_retry"),
    path("b/<int:endpoint_pk>/<str:bucket>/drift/", views.bucket_drift, name="bucket_drift"),
    path("b/<int:endpoint_pk>/<str:bucket>/drift/check/", views.bucket_drift_check, name="bucket_drift_check"),
]
