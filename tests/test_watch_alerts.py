"""Alert rules, destinations and deliveries: real receivers on loopback (HTTP and SMTP)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from console.models import AuditEvent
from tests.audit_helpers import event
from watch.forms import AlertRuleForm, DestinationForm
from watch.models import Alert, AlertRule, Delivery, DeliveryAttempt, Destination
from watch.services import alerts, deliveries, drift

SECRET = "receiver-shared-secret"


class Receiver:
    """A webhook receiver: answers 503 to the first ``fail`` requests, then 200; keeps what it got."""

    def __init__(self, fail: int = 0, delay: float = 0.0):
        self.fail, self.delay, self.requests = fail, delay, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                if receiver.delay:
                    time.sleep(receiver.delay)
                failing = len(receiver.requests) <= receiver.fail
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?token=abc"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[dict]:
        return [r for n, r in enumerate(self.requests, 1) if n > self.fail]


@pytest.fixture(autouse=True)
def fresh_rules():
    """The rules a process keeps in memory are dropped around each test (its rows are rolled back)."""
    alerts.rules_changed()
    yield
    alerts.rules_changed()


@pytest.fixture
def receiver():
    made = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def destination(kind: str = "webhook", url: str = "", **fields) -> Destination:
    d = Destination(name=fields.pop("name", f"{kind}-dest"), kind=kind, **fields)
    d.set_url(url)
    if kind == "webhook":
        d.set_secret(SECRET)
    d.save()
    return d


def rule(*destinations, **fields) -> AlertRule:
    r = AlertRule.objects.create(name=fields.pop("name", "rule"), **fields)
    r.destinations.set(destinations)
    alerts.rules_changed()
    return r


def verify(request: dict) -> dict:
    """What a receiver does: check the signature over timestamp and body, then read the body."""
    headers = request["headers"]
    signed = f"{headers['X-S3Console-Timestamp']}.".encode() + request["body"]
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-S3Console-Signature"], expected)
    return json.loads(request["body"])


def due_now(delivery: Delivery) -> None:
    """Time passes: the retry is due (and overdue for the sweep)."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))


@pytest.mark.django_db(transaction=True)
def test_an_outside_change_reaches_a_signed_webhook(endpoint, make_bucket, s3client, receiver):
    hook = receiver()
    rule(destination(url=hook.url), name="outside", condition=AlertRule.Condition.EXTERNAL)
    bucket = make_bucket("alert-drift")
    drift.drift_check(endpoints=[endpoint], bucket=bucket)
    s3client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "who", "Value": "cli"}]})
    drift.drift_check(endpoints=[endpoint], bucket=bucket)

    [request] = hook.requests
    body = verify(request)
    assert body["event"]["action"] == "bucket.tags.external" and body["event"]["bucket"] == bucket
    assert body["event"]["actor"] == "outside the console" and body["event"]["after"] == {"who": "cli"}
    assert body["rule"] == "outside" and request["headers"]["X-S3Console-Event"] == "bucket.tags.external"
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED
    tampered = {**request, "body": request["body"].replace(b"cli", b"cla")}
    with pytest.raises(AssertionError):
        verify(tampered)


@pytest.mark.django_db(transaction=True)
def test_a_receiver_failing_three_times_gets_the_alert_once(receiver):
    hook = receiver(fail=3)
    rule(destination(url=hook.url), name="tags", action_pattern="bucket.tags.*")
    recorded = event("alice", "bucket.tags.put", bucket="b1", after={"a": "1"})
    assert AuditEvent.objects.filter(pk=recorded.pk).exists()  # the change is recorded whatever the receiver does
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)
    assert "503" in delivery.last_error and delivery.next_attempt_at > timezone.now()
    assert deliveries.retry_due() == 0  # not due yet
    for _ in range(3):
        due_now(delivery)
        deliveries.retry_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DELIVERED, 4)
    assert len(hook.requests) == 4 and len(hook.accepted()) == 1
    assert {r["headers"]["X-S3Console-Delivery"] for r in hook.requests} == {str(delivery.pk)}
    assert verify(hook.accepted()[0])["event"]["id"] == recorded.pk
    due_now(delivery)
    deliveries.retry_due()
    deliveries.deliver(delivery.pk)
    assert len(hook.requests) == 4  # delivered: never sent again
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 4


@pytest.mark.django_db(transaction=True)
def test_dead_letter_then_retry_now(receiver, admin_client, settings):
    settings.ALERT_MAX_ATTEMPTS = 2
    hook = receiver(fail=2)
    rule(destination(url=hook.url), name="all")
    event("alice", "object.delete", bucket="b1", key="k")
    delivery = Delivery.objects.get()
    due_now(delivery)
    deliveries.retry_due()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DEAD and delivery.attempts == 2
    page = admin_client.get(reverse("alerts_overview"))
    assert b"Dead letters" in page.content and b"Retry now" in page.content
    assert b"503" in page.content
    answer = admin_client.post(reverse("alert_delivery_retry", args=[delivery.pk]))
    assert answer.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED and len(hook.accepted()) == 1
    assert AuditEvent.objects.filter(action="alert.delivery.retry", actor_name="alice").exists()


@pytest.mark.django_db(transaction=True)
def test_slow_receiver_is_retried_not_lost(receiver, settings):
    settings.ALERT_WEBHOOK_TIMEOUT = 0.3
    hook = receiver(delay=1.0)
    rule(destination(url=hook.url), name="slow")
    event("alice", "bucket.policy.put", bucket="b1")
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and "did not answer within 0.3 s" in delivery.last_error


@pytest.mark.django_db(transaction=True)
def test_email_through_smtp_on_loopback(settings):
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            received.append(envelope)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        mail = destination("email", recipients="ops@example.com, sec@example.com")
        rule(mail, name="denied", condition=AlertRule.Condition.DENIED, threshold=1, window_minutes=10)
        event("mallory", "object.delete", bucket="b1", outcome="denied")
        assert received == []  # one denied attempt is not more than one
        event("mallory", "bucket.delete", bucket="b1", outcome="denied")
        event("mallory", "bucket.delete", bucket="b2", outcome="denied")  # the same window: fired already
    finally:
        controller.stop()
    [message] = received
    assert sorted(message.rcpt_tos) == ["ops@example.com", "sec@example.com"]
    text = message.content.decode()
    assert "more than 1 denied attempts by mallory in 10 min" in text and "bucket.delete" in text
    assert Alert.objects.count() == 1 and Delivery.objects.get().status == Delivery.Status.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_chat_webhook_and_a_bucket_made_public(receiver):
    hook = receiver()
    chat = destination("chat", url=hook.url)
    rule(chat, name="public", condition=AlertRule.Condition.PUBLIC)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b1/*"}]})  # fmt: skip
    event("alice", "bucket.tags.put", bucket="b1", after={"a": "b"})
    event("alice", "bucket.policy.put", bucket="b1", before=None, after=policy)
    event("alice", "bucket.policy.put", bucket="b1", before=policy, after=policy)  # already public: no alert
    [request] = hook.requests
    text = json.loads(request["body"])["text"]
    assert "bucket b1 became public" in text and "X-S3Console-Signature" not in request["headers"]


@pytest.mark.django_db
def test_a_block_removed_then_a_public_policy_through_the_console():
    """As on AWS: the bucket was blocked at the last drift check; the console removes the block, then puts a
    public policy. The second change makes it public, though the snapshot still has the block."""
    from tests.audit_helpers import plain_endpoint
    from watch.models import BucketSnapshot

    ep = plain_endpoint("aws")
    blocked = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
    BucketSnapshot.objects.create(
        endpoint=ep, bucket="b1", state={"policy": None, "acl": None, "public_access_block": blocked},
        first_checked_at=timezone.now(), checked_at=timezone.now(),
    )  # fmt: skip
    rule(name="public", condition=AlertRule.Condition.PUBLIC)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b1/*"}]})  # fmt: skip
    event("alice", "bucket.public_access_block.delete", endpoint=ep, bucket="b1", before=blocked, after=None)
    assert Alert.objects.count() == 0  # no policy opens it yet
    put = event("alice", "bucket.policy.put", endpoint=ep, bucket="b1", before=None, after=policy)
    [alert] = Alert.objects.all()
    assert alert.event_id == put.pk and "bucket b1 became public" in alert.title
    event("alice", "bucket.public_access_block.put", endpoint=ep, bucket="b1", before=None, after=blocked)
    assert Alert.objects.count() == 1
    reopened = event("alice", "bucket.public_access_block.delete", endpoint=ep, bucket="b1", before=blocked, after=None)
    assert Alert.objects.count() == 2 and Alert.objects.filter(event_id=reopened.pk).exists()


@pytest.mark.django_db
def test_the_hook_never_breaks_the_change(monkeypatch):
    rule(name="boom")

    def broken(*args, **kwargs):
        raise RuntimeError("rules are broken")

    monkeypatch.setattr(alerts, "_condition", broken)
    recorded = event("alice", "bucket.tags.put", bucket="b1")
    assert AuditEvent.objects.filter(pk=recorded.pk).exists() and Alert.objects.count() == 0


@pytest.mark.django_db
def test_an_event_no_rule_matches_costs_no_query(django_assert_num_queries):
    rule(name="only-policies", action_pattern="bucket.policy.*")
    event("alice", "bucket.tags.put", bucket="b0")  # the rules are in memory now
    with django_assert_num_queries(0):
        alerts.event_recorded(AuditEvent(action="bucket.tags.put", outcome="ok", bucket="b1"))
    alerts.event_recorded(AuditEvent(action="alert.rule.create", outcome="ok"))  # the alerting's own: skipped


@pytest.mark.django_db
def test_more_than_n_deletes_in_m_minutes_fires_once():
    counting = rule(name="deletes", condition=AlertRule.Condition.DELETES, threshold=2, window_minutes=5)
    for n in range(3):
        event("mallory", "object.delete", bucket="b1", key=f"k{n}", outcome="denied")
    assert Alert.objects.count() == 0  # refused deletes deleted nothing
    for n in range(5):
        event("alice", "object.delete", bucket="b1", key=f"k{n}")
    event("alice", "object.put", bucket="b1", key="other")
    [alert] = Alert.objects.all()
    assert alert.rule == counting and "more than 2 deletes in 5 min" in alert.title


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_deletes_committed_at_once_fire_a_counting_rule_once():
    """Four deletes at the same moment cross "more than 1 in 5 min" together: one alert, not one per event."""
    writers, failures = 4, []
    for round_ in range(8):
        counting = rule(name=f"deletes-{round_}", condition=AlertRule.Condition.DELETES, threshold=1,
                        window_minutes=5, bucket=f"race{round_}")  # fmt: skip
        start = threading.Barrier(writers)

        def delete(n: int, bucket: str = f"race{round_}", start: threading.Barrier = start) -> None:
            try:
                start.wait()
                event("alice", "object.delete", bucket=bucket, key=f"k{n}")
            except BaseException as exc:  # reported below
                failures.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=delete, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, failures
        assert Alert.objects.filter(rule=counting).count() == 1, f"round {round_}"


@pytest.mark.django_db
def test_the_filters_of_a_rule_outcome_endpoint_bucket_user():
    from tests.audit_helpers import plain_endpoint

    prod, test = plain_endpoint("prod"), plain_endpoint("test")
    rule(name="failed-logs", action_pattern="object.*", outcome="failed", endpoint=prod, bucket="logs-*", actor="alice")
    event("alice", "object.delete", endpoint=prod, bucket="logs-2026", outcome="failed")
    misses = [
        ("alice", "object.delete", prod, "logs-2026", "ok"),  # another outcome
        ("alice", "object.delete", test, "logs-2026", "failed"),  # another endpoint
        ("alice", "object.delete", prod, "data", "failed"),  # another bucket
        ("bob", "object.delete", prod, "logs-2026", "failed"),  # another user
        ("alice", "bucket.delete", prod, "logs-2026", "failed"),  # another action
    ]
    for actor, action, endpoint, bucket, outcome in misses:
        event(actor, action, endpoint=endpoint, bucket=bucket, outcome=outcome)
    [alert] = Alert.objects.all()
    assert alert.payload["event"]["endpoint"] == "prod" and alert.payload["event"]["bucket"] == "logs-2026"


@pytest.mark.django_db
def test_denied_attempts_are_counted_per_user():
    rule(name="denied", condition=AlertRule.Condition.DENIED, threshold=2, window_minutes=5)
    for user in ("mallory", "eve", "trudy", "mallory", "eve"):
        event(user, "object.get", bucket="b1", outcome="denied")
    assert Alert.objects.count() == 0  # five denied attempts, at most two by one user
    event("alice", "object.get", bucket="b1")  # allowed: not counted
    event("eve", "object.get", bucket="b1", outcome="denied")
    [alert] = Alert.objects.all()
    assert alert.group == "eve" and "more than 2 denied attempts by eve in 5 min" in alert.title


@pytest.mark.django_db
def test_bad_rules_and_urls_are_refused_with_a_reason(settings):
    for pattern in ("bucket policy", "Bucket.[x]", "bucket..put", "bucket.*;drop"):
        form = AlertRuleForm({"name": "r", "condition": "every", "action_pattern": pattern, "threshold": 0,
                              "window_minutes": 0})  # fmt: skip
        assert not form.is_valid() and "not a valid pattern" in str(form.errors["action_pattern"]), pattern
    form = AlertRuleForm({"name": "r", "condition": "deletes", "action_pattern": "", "threshold": 3})
    assert not form.is_valid() and "minutes" in str(form.errors["window_minutes"])

    def url_error(url: str, host: str = "console.example.com") -> str:
        form = DestinationForm({"name": "d", "kind": "webhook", "url": url, "secret": "s"}, request_host=host)
        return "" if form.is_valid() else " ".join(form.errors.get("url", []))

    assert "Only http:// and https://" in url_error("ftp://example.com/hook")
    assert "Only http:// and https://" in url_error("javascript:alert(1)")
    assert "console itself" in url_error("https://console.example.com/audit/")
    assert "console itself" in url_error("http://testserver/hook")  # a name in ALLOWED_HOSTS
    assert "credentials" in url_error("https://user:pw@example.com/hook")
    assert url_error("http://10.0.0.5/hook") == "" and url_error("http://127.0.0.1:9000/hook") == ""
    settings.ALERT_BLOCK_PRIVATE_ADDRESSES = True
    for private in ("http://10.0.0.5/hook", "http://127.0.0.1:9000/hook", "http://[::1]/x", "http://localhost/x",
                    "http://169.254.169.254/latest/meta-data/"):  # fmt: skip
        assert "private" in url_error(private), private
    assert url_error("https://93.184.215.14/hook") == ""
    form = DestinationForm({"name": "d", "kind": "webhook", "url": "https://93.184.215.14/hook"})
    assert not form.is_valid() and "signing secret" in str(form.errors["secret"])


@pytest.mark.django_db(transaction=True)
def test_a_name_rebound_to_a_private_address_reaches_nothing(receiver, settings, monkeypatch):
    """DNS rebinding: public when the URL is checked, loopback when connecting. The connection is refused."""
    settings.ALERT_BLOCK_PRIVATE_ADDRESSES = True
    hook = receiver()
    port = hook.server.server_port
    real, answers = socket.getaddrinfo, []

    def rebinding(host, *args, **kwargs):
        if host != "hooks.rebind.example":
            return real(host, *args, **kwargs)
        answers.append(host)
        address = "93.184.215.14" if len(answers) == 1 else "127.0.0.1"  # TTL 0: the second answer differs
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    rule(destination(url=f"http://hooks.rebind.example:{port}/hook"), name="all")
    event("alice", "bucket.tags.put", bucket="b1")
    delivery = Delivery.objects.get()
    assert len(answers) == 2 and hook.requests == []
    assert delivery.status == Delivery.Status.PENDING and "private address when connecting" in delivery.last_error
    settings.ALERT_BLOCK_PRIVATE_ADDRESSES = False  # the same URL, private addresses allowed: delivered
    due_now(delivery)
    deliveries.retry_due()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED and len(hook.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_a_proxy_from_the_environment_does_not_carry_a_webhook_past_the_address_check(receiver, settings, monkeypatch):
    """With HTTP_PROXY set, the proxy would make the connection (to the rebound, private address) unchecked."""
    settings.ALERT_BLOCK_PRIVATE_ADDRESSES = True
    hook, proxy = receiver(), receiver()
    port = hook.server.server_port
    real = socket.getaddrinfo
    answers = []

    def rebinding(host, *args, **kwargs):
        if host != "hooks.rebind.example":
            return real(host, *args, **kwargs)
        answers.append(host)
        address = "93.184.215.14" if len(answers) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.server.server_port}")
    rule(destination(url=f"http://hooks.rebind.example:{port}/hook"), name="all")
    event("alice", "bucket.tags.put", bucket="b1")
    delivery = Delivery.objects.get()
    assert proxy.requests == [] and hook.requests == []
    assert delivery.status == Delivery.Status.PENDING and "private address when connecting" in delivery.last_error


@pytest.mark.django_db(transaction=True)
def test_admin_pages_create_and_test_a_destination(admin_client, receiver):
    hook = receiver()
    answer = admin_client.post(
        reverse("alert_destination_create"),
        {"name": "ops-hook", "kind": "webhook", "url": hook.url, "secret": SECRET, "enabled": "on"},
    )
    assert answer.status_code == 302
    dest = Destination.objects.get(name="ops-hook")
    assert dest.get_url() == hook.url and dest.get_secret() == SECRET and "abc" not in dest.url_encrypted
    assert SECRET not in dest.secret_encrypted and dest.secret_encrypted  # kept encrypted
    page = admin_client.get(reverse("alert_destination_edit", args=[dest.pk])).content.decode()
    assert "token=abc" not in page and SECRET not in page and "127.0.0.1" in page
    created = AuditEvent.objects.get(action="alert.destination.create")
    assert "token" not in json.dumps(created.after) and SECRET not in json.dumps(created.after)
    admin_client.post(reverse("alert_destination_test", args=[dest.pk]))
    [request] = hook.requests
    assert verify(request)["rule"] == "Test"
    answer = admin_client.post(
        reverse("alert_rule_create"),
        {"name": "public", "condition": "public", "threshold": 0, "window_minutes": 0, "destinations": [dest.pk],
         "enabled": "on"},
    )  # fmt: skip
    assert answer.status_code == 302 and AlertRule.objects.get(name="public").destinations.get() == dest
    refused = admin_client.post(reverse("alert_rule_create"), {"name": "bad", "condition": "every",
                                                                "action_pattern": "a b"})  # fmt: skip
    assert refused.status_code == 422 and b"not a valid pattern" in refused.content


def test_signature_headers_are_stable():
    headers = deliveries.signed_headers("k", b"{}", 7, timestamp=1700000000)
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert headers["X-S3Console-Signature"] == f"sha256={expected}" and headers["X-S3Console-Delivery"] == "7"


def test_the_dashboard_marks_an_alert_no_destination_took(client, admin_user, viewer_user):
    hook = Destination.objects.create(name="ops hook", kind="webhook", url_hint="https://hooks.example")
    mail = Destination.objects.create(name="ops mail", kind="email", recipients="ops@example.com")
    denied = event("mallory", "bucket.delete", outcome="denied")
    lost = Alert.objects.create(event_id=denied.pk, rule_name="Denied", title="Denied: bucket.delete by mallory")
    Delivery.objects.create(alert=lost, destination=hook, status=Delivery.Status.DEAD)
    Delivery.objects.create(alert=lost, destination=mail, status=Delivery.Status.DEAD)
    sent = Alert.objects.create(event_id=denied.pk, rule_name="Denied", title="Denied: policy.put by eve")
    Delivery.objects.create(alert=sent, destination=hook, status=Delivery.Status.DELIVERED)
    client.force_login(admin_user)
    response = client.get(reverse("dashboard"))
    page = response.content.decode()
    assert response.status_code == 200, page[:500]
    panel = page[page.index('id="alerts-fired"') :]
    lines = {line.split("</span>")[0]: line for line in panel.split('<p class="small"><span class="break">')[1:]}
    assert lines.keys() == {"Denied: bucket.delete by mallory", "Denied: policy.put by eve"}
    assert lines["Denied: bucket.delete by mallory"].count("not delivered") == 1  # once, however many failed
    assert "not delivered" not in lines["Denied: policy.put by eve"].split("</p>")[0]
    client.force_login(viewer_user)
    assert 'id="alerts-fired"' not in client.get(reverse("dashboard")).text  # alerts span every scope
