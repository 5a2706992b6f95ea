"""Two admins editing the same console record (an endpoint, an alert rule, a destination): the second save
made from the old state saves nothing, says what changed and keeps what was typed; saving again then wins."""

from __future__ import annotations

import re
import threading
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from console.models import AuditEvent, Endpoint
from tests.test_endpoints import SECRET, form_data
from watch.models import AlertRule, Destination

pytestmark = pytest.mark.django_db(transaction=True)
CHANGED = "Someone else saved this since you opened it, so nothing was saved."


def _admin(django_user_model, name: str) -> Client:
    client = Client()
    client.force_login(django_user_model.objects.create_superuser(name, f"{name}@example.com", "pw-" + name * 3))
    return client


@pytest.fixture
def admins(django_user_model):
    return _admin(django_user_model, "anna"), _admin(django_user_model, "bert")


def _seen(page) -> str:
    return unescape(re.search(r'name="seen" value="([^"]*)"', page.content.decode()).group(1))


def test_an_endpoint_saved_meanwhile_is_not_overwritten(admins):
    anna, bert = admins
    anna.post(reverse("endpoint_create"), form_data())
    endpoint = Endpoint.objects.get()
    edit = reverse("endpoint_edit", args=[endpoint.pk])
    annas_form, berts_form = _seen(anna.get(edit)), _seen(bert.get(edit))

    assert bert.post(edit, form_data(region="eu-west-1", secret_access_key="", seen=berts_form)).status_code == 302
    refused = anna.post(edit, form_data(name="minio-main", secret_access_key="", seen=annas_form))
    page = unescape(refused.content.decode())
    assert refused.status_code == 409 and CHANGED in page
    assert "Region: “us-east-1” → “eu-west-1”" in page and "Edit endpoint “minio-prod”" in page
    assert 'value="minio-main"' in page  # what Anna typed is still in the form
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.region) == ("minio-prod", "eu-west-1")
    failed = AuditEvent.objects.get(action="endpoint.edit", outcome="failed")
    assert failed.actor_name == "anna" and failed.error_code == "Conflict"

    # The form now carries the state it showed the change against: saving again is a choice, and wins.
    again = anna.post(edit, form_data(name="minio-main", region="eu-west-1", secret_access_key="", seen=_seen(refused)))
    assert again.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.region) == ("minio-main", "eu-west-1")
    assert endpoint.get_secret_access_key() == SECRET
    assert SECRET not in str(list(AuditEvent.objects.values_list("error_message", flat=True)))


def test_two_saves_of_one_endpoint_at_the_same_moment_one_wins(admins):
    anna, bert = admins
    anna.post(reverse("endpoint_create"), form_data())
    endpoint = Endpoint.objects.get()
    edit = reverse("endpoint_edit", args=[endpoint.pk])
    seen = _seen(anna.get(edit))
    start, answers = threading.Barrier(2), {}

    def save(who: str, client: Client, region: str) -> None:
        try:
            start.wait()
            answers[who] = client.post(edit, form_data(region=region, secret_access_key="", seen=seen)).status_code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=a) for a in (("anna", anna, "eu-west-1"), ("bert", bert, "ap-south-1"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers.values()) == [302, 409]
    winner = next(who for who, status in answers.items() if status == 302)
    endpoint.refresh_from_db()
    assert endpoint.region == {"anna": "eu-west-1", "bert": "ap-south-1"}[winner]
    events = AuditEvent.objects.filter(action="endpoint.edit")
    assert sorted(events.values_list("outcome", flat=True)) == ["failed", "ok"]


def test_an_alert_rule_saved_meanwhile_is_not_overwritten(admins):
    anna, bert = admins
    rule = AlertRule.objects.create(name="deletes", condition=AlertRule.Condition.DELETES, threshold=5,
                                    window_minutes=10)  # fmt: skip
    edit = reverse("alert_rule_edit", args=[rule.pk])
    fields = {"name": "deletes", "condition": "deletes", "threshold": "5", "window_minutes": "10", "enabled": "on"}
    annas_form = _seen(anna.get(edit))
    assert bert.post(edit, {**fields, "threshold": "50", "seen": _seen(bert.get(edit))}).status_code == 302
    refused = anna.post(edit, {**fields, "window_minutes": "1", "seen": annas_form})
    assert refused.status_code == 409 and "More than N events: “5” → “50”" in unescape(refused.content.decode())
    rule.refresh_from_db()
    assert (rule.threshold, rule.window_minutes) == (50, 10)
    assert AuditEvent.objects.filter(action="alert.rule.edit", outcome="failed", error_code="Conflict").count() == 1


def test_a_destination_whose_secret_was_replaced_meanwhile_is_not_overwritten(admins):
    anna, bert = admins
    destination = Destination(name="ops", kind=Destination.Kind.WEBHOOK)
    destination.set_url("https://hooks.example.com/ops?token=abc")
    destination.set_secret("first-secret")
    destination.save()
    edit = reverse("alert_destination_edit", args=[destination.pk])
    fields = {"name": "ops", "kind": "webhook", "url": "", "secret": "", "recipients": "", "enabled": "on"}
    annas_form = _seen(anna.get(edit))
    assert bert.post(edit, {**fields, "secret": "second-secret", "seen": _seen(bert.get(edit))}).status_code == 302
    refused = anna.post(edit, {**fields, "name": "ops-hook", "seen": annas_form})
    page = unescape(refused.content.decode())
    assert refused.status_code == 409 and "the stored URL or secret was replaced" in page
    assert "second-secret" not in page and "first-secret" not in page
    destination.refresh_from_db()
    assert (destination.name, destination.get_secret()) == ("ops", "second-secret")
