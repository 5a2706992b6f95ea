"""The bucket page's sections (``settings/<slug>/``) and the settings with steps of their own."""

from django.urls import path

from buckets.urls.sections import section_patterns
from buckets.views import sections, settings

urlpatterns = [
    path("policy/editor/", settings.policy_editor, name="bucket_policy_editor"),
    path("policy/review/", settings.policy_review, name="bucket_policy_review"),
    path("lifecycle/rule/", settings.lifecycle_rule_edit, name="lifecycle_rule"),
    path("lifecycle/rule/save/", settings.lifecycle_rule_save, name="lifecycle_rule_save"),
    path("lifecycle/rule/delete/", settings.lifecycle_rule_delete, name="lifecycle_rule_delete"),
    path("", sections.sections_all, {"page": "bucket"}, name="bucket_settings_all"),
    *section_patterns("", "bucket", "bucket_setting"),
]
