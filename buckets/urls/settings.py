"""The bucket page's sections (``settings/<slug>/``) and the settings with steps of their own."""

from django.urls import path

from buckets.views import sections, settings

page = {"page": "bucket"}

urlpatterns = [
    path("policy/editor/", settings.policy_editor, name="bucket_policy_editor"),
    path("policy/review/", settings.policy_review, name="bucket_policy_review"),
    path("lifecycle/rule/", settings.lifecycle_rule_edit, name="lifecycle_rule"),
    path("lifecycle/rule/save/", settings.lifecycle_rule_save, name="lifecycle_rule_save"),
    path("lifecycle/rule/delete/", settings.lifecycle_rule_delete, name="lifecycle_rule_delete"),
    path("", sections.sections_all, page, name="bucket_settings_all"),
    path("<slug:slug>/", sections.section_show, page, name="bucket_setting"),
    path("<slug:slug>/edit/", sections.section_edit, page, name="bucket_setting_edit"),
    path("<slug:slug>/save/", sections.section_save, page, name="bucket_setting_save"),
    path("<slug:slug>/remove/", sections.section_remove, page, name="bucket_setting_remove"),
    path("<slug:slug>/recheck/", sections.section_recheck, page, name="bucket_setting_recheck"),
]
