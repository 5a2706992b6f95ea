"""The audit review's filters, and its keyset pages (a cursor of (created_at, id), no OFFSET)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.db.models import QuerySet
from django.template.loader import get_template
from django.utils import timezone

from console import access
from console.audit_visibility import key_prefix
from console.models import AuditEvent, Endpoint

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIELD_HTML: dict[tuple, str] = {}
FIELD_HTML_KEPT = 2000  # rendered filter fields kept per process (keys hold what users typed: bounded)


class AuditFilterForm(forms.Form):
    actor = forms.CharField(
        required=False, max_length=150, label="Who", widget=forms.TextInput(attrs={"placeholder": "username"})
    )
    action = forms.CharField(
        required=False,
        max_length=64,
        label="Action starts with",
        widget=forms.TextInput(attrs={"placeholder": "bucket. or auth.login"}),
    )
    # Choices from one evaluated list (a ModelChoiceField queries again to render and to clean).
    endpoint = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None,
        error_messages={"invalid_choice": "Select a valid choice. That choice is not one of the available choices."},
    )  # fmt: skip
    bucket = forms.CharField(required=False, max_length=63)
    key = forms.CharField(
        required=False, max_length=1024, label="Key prefix", widget=forms.TextInput(attrs={"placeholder": "logs/2026/"})
    )
    outcome = forms.ChoiceField(required=False, choices=[("", "any"), *AuditEvent.Outcome.choices])
    ip = forms.GenericIPAddressField(required=False, label="Address", unpack_ipv4=True)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    cursor = forms.CharField(required=False, widget=forms.HiddenInput)

    SHOWN = ("actor", "action", "endpoint", "bucket", "key", "outcome", "ip", "date_from", "date_to")

    def __init__(self, data, *, user):
        super().__init__(data)
        visible = access.visible_endpoint_ids(user)
        endpoints = Endpoint.objects.order_by("name").values_list("pk", "name")
        choices = [("", "any"), *(endpoints if visible is None else endpoints.filter(pk__in=visible))]
        self.fields["endpoint"].choices = choices
        self._choices_key = tuple(choices)
        # Filtering by address would tell anyone else where each event came from: theirs only.
        self.own_addresses_only = not access.is_global_admin(user)
        self.user_pk = user.pk

    def fields_html(self) -> list[str]:
        """The shown fields, each through console/_field.html.

        A field's HTML depends only on the field, its value, its errors and (for the endpoint) its
        choices: rendered once per process for each of those (the unfiltered page, the usual filters)
        instead of through the form renderer's templates on every request (~0.5 ms a field).
        """
        template = get_template("console/_field.html")
        out = []
        for name in self.SHOWN:
            field = self[name]
            key = (name, repr(field.value()), tuple(field.errors), self._choices_key if name == "endpoint" else ())
            html = _FIELD_HTML.get(key)
            if html is None:
                html = template.render({"field": field})
                if len(_FIELD_HTML) < FIELD_HTML_KEPT:
                    _FIELD_HTML[key] = html
            out.append(html)
        return out

    def clean_cursor(self) -> tuple[datetime, int] | None:
        raw = self.cleaned_data["cursor"]
        if not raw:
            return None
        try:
            micros, _, pk = raw.partition(".")
            return EPOCH + timedelta(microseconds=int(micros)), int(pk)
        except (ValueError, OverflowError):
            raise forms.ValidationError("This page link is damaged; start again from the newest events.") from None

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "“To” is before “From”.")
        return data

    def apply(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        """The events matching the filters (the cursor aside)."""
        data = self.cleaned_data
        exact = {
            "actor_name": data["actor"],
            "bucket": data["bucket"],
            "outcome": data["outcome"],
            "client_ip": data["ip"],
        }
        events = events.filter(**{name: value for name, value in exact.items() if value})
        if data["ip"] and self.own_addresses_only:
            events = events.filter(actor_id=self.user_pk)
        if data["action"]:
            events = events.filter(action__startswith=data["action"])
        if data["endpoint"]:
            events = events.filter(endpoint_id=data["endpoint"])
        if data["key"]:
            events = events.filter(key_prefix(data["key"]))
        if data["date_from"]:
            events = events.filter(created_at__gte=_start_of(data["date_from"]))
        if data["date_to"]:
            events = events.filter(created_at__lt=_start_of(data["date_to"] + timedelta(days=1)))
        return events


def _start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def encode_cursor(event: AuditEvent) -> str:
    return f"{(event.created_at - EPOCH) // timedelta(microseconds=1)}.{event.pk}"


def older_than(events: QuerySet[AuditEvent], cursor: tuple[datetime, int]) -> QuerySet[AuditEvent]:
    """Keyset step: rows before (created_at, id) in page order.

    ``created_at <= t`` is the index range; the exclusion only drops the few rows of the
    same instant already shown. No OFFSET: a deep page costs what the first one does.
    """
    when, pk = cursor
    return events.filter(created_at__lte=when).exclude(created_at=when, id__gte=pk)
