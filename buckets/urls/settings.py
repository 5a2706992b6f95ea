from django.urls import path

from buckets import settings_views

urlpatterns = [
    path("policy/editor/", settings_views.policy_editor, name="bucket_policy_editor"),
    path("policy/review/", settings_views.policy_review, name="bucket_policy_review"),
    path("acl/canned/", settings_views.acl_canned, name="bucket_acl_canned"),
    path("lifecycle/rule/", settings_views.lifecycle_rule_edit, name="lifecycle_rule"),
    path("lifecycle/rule/save/", settings_views.lifecycle_rule_save, name="lifecycle_rule_save"),
    path("lifecycle/rule/delete/", settings_views.lifecycle_rule_delete, name="lifecycle_rule_delete"),
    path("<slug:setting>/", settings_views.setting_show, name="bucket_setting"),
    path("<slug:setting>/edit/", settings_views.setting_edit, name="bucket_setting_edit"),
    path("<slug:setting>/save/", settings_views.setting_save, name="bucket_setting_save"),
    path("<slug:setting>/remove/", settings_views.setting_remove, name="bucket_setting_remove"),
]
