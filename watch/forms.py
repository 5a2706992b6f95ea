"""Forms of the alerting pages: rules (patterns validated) and destinations (URLs validated)."""

from __future__ import annotations

from django import forms
from django.core.validators import validate_email

from console.models import Endpoint
from console.record_edits import SeenField
from watch import urlcheck
from watch.models import AlertRule, Destination
from watch.services import alerts

COUNTING = (AlertRule.Condition.DELETES, AlertRule.Condition.DENIED)


class AlertRuleForm(forms.ModelForm):
    seen = SeenField()  # the rule as the form was opened: a save compares (console.record_edits)

    class Meta:
        model = AlertRule
        fields = [
            "name", "enabled", "condition", "action_pattern", "outcome", "endpoint", "bucket", "actor",
            "threshold", "window_minutes", "destinations",
        ]  # fmt: skip
        labels = {
            "action_pattern": "Actions",
            "threshold": "More than N events",
            "window_minutes": "Within M minutes",
            "actor": "User",
        }
        help_texts = {
            "action_pattern": "e.g. bucket.policy.*, object.delete — * and ? are wildcards; empty: every action "
            "(“more than N deletes”: every action with “delete” in it).",
            "bucket": "a bucket name (wildcards allowed); empty: every bucket",
            "actor": "a user name; empty: anyone",
            "threshold": "for the two counting conditions",
            "window_minutes": "for the two counting conditions",
        }
        widgets = {"destinations": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["endpoint"].queryset = Endpoint.objects.order_by("name")
        self.fields["endpoint"].empty_label = "any endpoint"
        self.fields["destinations"].queryset = Destination.objects.order_by("name")
        self.fields["outcome"].required = False

    def clean_action_pattern(self) -> str:
        text = self.cleaned_data["action_pattern"].strip().lower()
        if errors := alerts.pattern_errors(text):
            raise forms.ValidationError(errors)
        return ", ".join(alerts.split_patterns(text))

    def clean_bucket(self) -> str:
        text = self.cleaned_data["bucket"].strip()
        if text and (alerts.pattern_errors(text, bucket=True) or "," in text):
            raise forms.ValidationError("A bucket name: lowercase letters, digits, . and -, with * and ? as wildcards.")
        return text

    def clean(self):
        data = super().clean()
        if data.get("condition") in COUNTING:
            if not data.get("window_minutes"):
                self.add_error("window_minutes", "Give the number of minutes (M) the events are counted over.")
            if data.get("threshold") is None:
                self.add_error("threshold", "Give the number of events (N) that is too many.")
        return data


class DestinationForm(forms.Form):
    seen = SeenField()
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=Destination.Kind.choices, label="Type")
    url = forms.CharField(
        max_length=2000, required=False, label="URL",
        help_text="webhooks and Slack/Teams: where alerts are POSTed (http:// or https://). Kept encrypted; "
        "leave empty to keep the stored one.",
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )  # fmt: skip
    secret = forms.CharField(
        max_length=200, required=False, label="Signing secret",
        help_text="webhooks: the key of the X-S3Console-Signature HMAC. Kept encrypted; leave empty to keep it.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )  # fmt: skip
    recipients = forms.CharField(
        max_length=1000, required=False, help_text="e-mail: addresses, comma-separated (sent with the console's "
        "mail settings)",
    )  # fmt: skip
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, destination: Destination | None = None, request_host: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.destination, self.request_host = destination, request_host

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = Destination.objects.filter(name=name)
        if self.destination is not None and self.destination.pk:
            taken = taken.exclude(pk=self.destination.pk)
        if taken.exists():
            raise forms.ValidationError("Another destination has this name.")
        return name

    def clean_recipients(self) -> str:
        addresses = [a.strip() for a in self.cleaned_data["recipients"].split(",") if a.strip()]
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                raise forms.ValidationError(f"“{address[:100]}” is not an e-mail address.") from None
        return ", ".join(addresses)

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        stored = self.destination is not None and self.destination.pk and self.destination.kind == kind
        if kind == Destination.Kind.EMAIL:
            if not data.get("recipients") and "recipients" not in self.errors:
                self.add_error("recipients", "Give at least one e-mail address.")
            data["url"] = ""
            return data
        url = (data.get("url") or "").strip()
        if url:
            try:
                data["url"] = urlcheck.check_url(url, request_host=self.request_host)
            except urlcheck.URLRefused as exc:
                self.add_error("url", str(exc))
        elif not (stored and self.destination.url_encrypted):
            self.add_error("url", "Give the URL alerts are sent to.")
        if kind == Destination.Kind.WEBHOOK and not data.get("secret") and not (stored and self.destination.has_secret):
            self.add_error("secret", "Give a signing secret: the receiver checks each alert's signature with it.")
        return data
