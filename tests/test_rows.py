"""Hot table rows rendered in Python (console/rows.py): the same HTML the templates made, escaped.

Each renderer is compared with the template row it replaced (kept here verbatim) over rows that take
every branch, user data with markup and quotes included; and each page shows hostile names escaped.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template import engines
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from buckets.models import Bucket
from buckets.views.buckets import bucket_rows, listed_buckets
from console import rows
from console.audit_rows import event_lines, event_rows
from console.models import AuditEvent, Endpoint

XSS = "x\"'><img src=x onerror=alert(1)>&amp;"

OLD_BUCKET_ROW = """{% load console_time humanize console_size %}{% for bucket in buckets %}
    <tr>
      <td class="break"><strong><a href="{% url 'bucket_detail' bucket.endpoint_id bucket.name %}">{{ bucket.name }}</a></strong>{% if bucket.is_public %} <span class="badge public" title="Checked {{ bucket.public_checked_at|ago }}">Public</span>{% endif %}</td>
      <td>{{ bucket.endpoint.name }}</td>
      <td class="nowrap">{{ bucket.region|default:"—" }}</td>
      <td class="num nowrap">{% if bucket.counted_at %}<span title="Counted {{ bucket.counted_at|ago }}">{{ bucket.object_count|intcomma }}</span> <span class="muted small">· {{ bucket.total_bytes|size }}</span>{% else %}<span class="muted" title="Not counted yet: “Count objects” on the bucket page">—</span>{% endif %}</td>
      <td class="nowrap">{{ bucket.created|date:"Y-m-d H:i"|default:"—" }}</td>
      <td class="nowrap muted">{% if bucket.last_synced %}{{ bucket.last_synced|ago }}{% else %}never{% endif %}</td>
    </tr>{% endfor %}"""  # noqa: E501

OLD_EVENT_ROW = """{% for e in events %}
  <tr>
    <td class="nowrap"><a href="{% url 'audit_detail' e.pk %}" title="Details of event {{ e.seq }}">{{ e.created_at|date:"Y-m-d H:i:s" }}</a></td>
    <td>{{ e.actor_name|default:"system" }}{% if e.role %} <span class="muted small">({{ e.role }})</span>{% endif %}<div class="muted small">{{ e.client_ip|default:"" }}</div></td>
    <td><a href="{% url 'audit_detail' e.pk %}"><code>{{ e.action }}</code></a></td>
    <td class="break">{{ e.endpoint_name }}{% if e.bucket %} / {{ e.bucket }}{% endif %}{% if e.key %} / <span class="mono">{{ e.key }}</span>{% endif %}{% if e.version_id %} <span class="muted small">v {{ e.version_id|truncatechars:16 }}</span>{% endif %}{% if e.action|slice:":5" == "auth." %}<span class="small">{% if e.params.source %}{{ e.params.source }} {% endif %}{{ e.params.reason }}</span>{% if e.params.user_agent %}<div class="muted small">{{ e.params.user_agent|truncatechars:60 }}</div>{% endif %}{% endif %}</td>
    <td><span class="badge {{ e.outcome }}">{{ e.get_outcome_display }}</span>{% if e.error_code %} <code class="small">{{ e.error_code }}</code>{% endif %}</td>
  </tr>{% endfor %}"""  # noqa: E501


OLD_EVENT_LINES = """{% load console_time %}{% for e in events %}
<p class="small"><span class="badge {{ e.outcome }}">{{ e.get_outcome_display }}</span>
  <a href="{% url 'audit_detail' e.pk %}"><code>{{ e.action }}</code></a> {% if e.bucket %}<span class="break">{{ e.bucket }}{% if e.key %}/{{ e.key }}{% endif %}</span>{% endif %}
  <br><span class="muted">{{ e.actor_name|default:"system" }} · {{ e.created_at|ago }}</span></p>
{% empty %}<p class="muted">{{ empty }}</p>{% endfor %}"""  # noqa: E501


def _same(html: str) -> str:
    return re.sub(r">\s+<", "><", html).strip()


def _template(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


def test_ago_says_what_timesince_says():
    now = timezone.now()
    rng = random.Random(12)
    for seconds in [
        0,
        30,
        59,
        60,
        61,
        3599,
        3600,
        86400,
        86400 * 8,
        86400 * 40,
        86400 * 400,
        *range(0, 10**9, 999_983),
        *range(0, 86400 * 62, 7_919),  # the first two months closely: the fast path and the month arithmetic
    ]:
        value = now - timedelta(seconds=seconds + rng.random())
        expected = "just now" if now - value < timedelta(minutes=1) else f"{timesince(value, now)} ago"
        assert rows.ago(value, now) == expected
    assert rows.ago(None) == "" and rows.ago(now + timedelta(hours=1), now) == "just now"


def test_ago_says_what_timesince_says_across_a_dst_change():
    """Times in a zone with daylight saving, around its change (a calendar month of 27 days 23 hours)."""
    zone = ZoneInfo("America/New_York")
    now = datetime(2026, 3, 14, 10, 0, tzinfo=zone)
    for hours in range(24 * 25, 24 * 31):
        value = now - timedelta(hours=hours, minutes=30)
        assert rows.ago(value, now) == f"{timesince(value, now)} ago"


def test_numbers_are_grouped_as_intcomma_groups_them():
    number = rows.number_maker()
    for n in [0, 7, 999, 1000, 1234567, -1234567, 10**15]:
        assert number(n) == intcomma(n)


def test_esc_escapes_what_escape_escapes():
    for text in ["plain", XSS, "a&b", '"q"', "it's", "<>", 12, "", "é ü"]:
        assert rows.esc(text) == escape(str(text))
    assert rows.esc(None) == ""


@pytest.mark.parametrize("name", ["bucket-1", "a.b-c", XSS, "sp ace%25?#"])
def test_url_maker_matches_reverse(db, name):
    assert rows.url_maker("bucket_detail", 7)(name) == reverse("bucket_detail", args=[7, name])
    assert rows.url_maker("audit_detail", int_slot=True)(42) == reverse("audit_detail", args=[42])


@pytest.mark.django_db
def test_bucket_rows_are_the_template_rows():
    endpoint = Endpoint.objects.create(name="ep " + XSS, url="http://127.0.0.1:9")
    now = timezone.now()
    names = ["plain", XSS, "counted", "public", "never"]
    for i, name in enumerate(names):
        Bucket.objects.create(
            endpoint=endpoint, name=name, region=["", "eu-west-1", XSS][i % 3],
            created=None if i == 4 else now - timedelta(days=i, minutes=7),
            last_synced=None if i == 4 else now - timedelta(hours=i, seconds=20),
            is_public=[None, True, False, True, None][i],
            public_checked_at=now - timedelta(days=3) if i in (1, 3) else None,
            counted_at=now - timedelta(minutes=5) if i in (1, 2) else None,
            object_count=1234567 * i, total_bytes=10**9 * i,
        )  # fmt: skip
    buckets = list(Bucket.objects.select_related("endpoint"))
    new = bucket_rows(listed_buckets(Bucket.objects.all()))
    assert _same(new) == _same(_template(OLD_BUCKET_ROW, buckets=buckets))
    assert "<img" not in new and "&lt;img src=x onerror=alert(1)&gt;&amp;amp;" in new


@pytest.mark.django_db
def test_event_rows_are_the_template_rows(settings):
    settings.TIME_ZONE = "Europe/Berlin"  # times are shown in the page's zone, not UTC
    base = dict(actor_name="", role="", client_ip=None, endpoint_name="", bucket="", key="", version_id="",
                params={}, outcome="ok", error_code="", prev_hash="0" * 64, hash="1" * 64)  # fmt: skip
    kinds = [
        dict(action="object.put", actor_name=XSS, role="operator", client_ip="10.0.0.1", endpoint_name="ep",
             bucket="bk", key="k/" + XSS, version_id="v" * 40),
        dict(action="bucket.policy.put", endpoint_name=XSS, bucket="b2", outcome="failed", error_code="Access<Denied>"),
        dict(action="auth.login.failed", params={"source": "ldap", "reason": XSS, "user_agent": "Mozilla/5.0 " * 10},
             outcome="denied", client_ip="::1"),
        dict(action="auth.logout", params={"reason": "idle"}),
        dict(action="auth.login", params=[]),
        dict(action="user.create", role="admin", version_id="short"),
    ]  # fmt: skip
    created = datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)
    for seq, kind in enumerate(kinds, 1):
        AuditEvent.objects.create(seq=seq, created_at=created + timedelta(hours=seq), **{**base, **kind})
    events = list(AuditEvent.objects.order_by("seq"))
    new = event_rows(events)
    assert _same(new) == _same(_template(OLD_EVENT_ROW, events=events))
    assert "<img" not in new and "Access&lt;Denied&gt;" in new and "2026-03-29 03:59:59" in new
    lines = event_lines(events, "None <yet>.")
    assert _same(lines) == _same(_template(OLD_EVENT_LINES, events=events, empty="None <yet>."))
    assert _same(event_lines([], "None <yet>.")) == _same(_template(OLD_EVENT_LINES, events=[], empty="None <yet>."))


@pytest.mark.django_db
def test_pages_show_hostile_names_escaped(admin_client):
    endpoint = Endpoint.objects.create(name="ep-" + XSS, url="http://127.0.0.1:9")
    Bucket.objects.create(endpoint=endpoint, name="bk-" + XSS, is_public=True, public_checked_at=timezone.now())
    AuditEvent.objects.create(
        seq=1, actor_name="user-" + XSS, action="object.put", endpoint_name="ep", bucket="bk", key="key-" + XSS,
        outcome="ok", prev_hash="0" * 64, hash="1" * 64,
    )  # fmt: skip
    for path in ["/buckets/", "/audit/", "/"]:
        body = admin_client.get(path).content.decode()
        assert "<img src=x" not in body, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in body, path


@pytest.mark.parametrize("prefix", ["/", "/console/"])
def test_section_urls_are_reverses_under_any_script_prefix(db, prefix):
    """The bucket page's section URLs come from one reverse per view and bucket, kept per script prefix."""
    from django.urls import get_script_prefix, set_script_prefix

    from buckets.sections import BUCKET_SECTIONS
    from buckets.services.sections import Target
    from buckets.views.sections import section_urls

    endpoint = Endpoint.objects.create(name="e", url="http://127.0.0.1:9")
    before = get_script_prefix()
    set_script_prefix(prefix)
    try:
        for spec in BUCKET_SECTIONS:
            urls = section_urls(spec, Target(endpoint, "b-1"))
            assert urls["edit"] == reverse("bucket_setting_edit", args=[endpoint.pk, "b-1", spec.slug])
            assert urls["show"].startswith(prefix + "b/") and urls["page"].startswith(prefix)
    finally:
        set_script_prefix(before)
