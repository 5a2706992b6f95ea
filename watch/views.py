"""Pages of drift and alerts: the alerting page (rules, destinations, dead letters, drift passes), the
rule and destination forms, and the bucket page's drift card with its "Check now"."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from buckets.views.common import endpoint_or_404
from console import access, audit, record_edits
from console.models import Role
from watch.forms import AlertRuleForm, DestinationForm
from watch.models import Alert, AlertRule, Delivery, Destination, DriftRun
from watch.services import admin, drift


def _actor(request, role: Role) -> audit.Actor:
    return audit.Actor.from_request(request, role)


@require_GET
def alerts_overview(request):
    access.require_global_admin(request, action="alert.view")
    context = {
        "rules": AlertRule.objects.select_related("endpoint").prefetch_related("destinations"),
        "destinations": Destination.objects.annotate(
            delivered=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.DELIVERED)),
            dead=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.DEAD)),
        ),
        "dead": Delivery.objects.filter(status=Delivery.Status.DEAD).select_related("alert", "destination")[:50],
        "alerts": Alert.objects.prefetch_related("deliveries__destination")[:20],
        "runs": DriftRun.objects.all()[:10],
    }
    return render(request, "watch/alerts.html", context)


@require_http_methods(["GET", "POST"])
def alert_rule_form(request, pk: int | None = None):
    """A new alert rule, or the one ``pk`` to edit."""
    role = access.require_global_admin(request, action="alert.rule.create" if pk is None else "alert.rule.edit")
    rule = AlertRule() if pk is None else get_object_or_404(AlertRule, pk=pk)
    initial = {"seen": record_edits.seen_token(admin.rule_state(rule))} if rule.pk else {}
    form = AlertRuleForm(request.POST or None, instance=rule, initial=initial)
    status = 422 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        saved = record_edits.save_unless_changed(form, lambda: admin.rule_save(actor=_actor(request, role), form=form))
        if saved is not None:
            messages.success(request, f"Alert rule “{saved.name}” saved.")
            return redirect("alerts_overview")
        status = 409
    if request.method == "POST" and rule.pk:
        rule.refresh_from_db()  # the form changed the instance: the page names the stored rule
    return render(request, "watch/rule_form.html", {"form": form, "rule": rule}, status=status)


@require_POST
def alert_rule_delete(request, pk: int):
    role = access.require_global_admin(request, action="alert.rule.delete")
    rule = get_object_or_404(AlertRule, pk=pk)
    admin.rule_delete(actor=_actor(request, role), rule=rule)
    messages.success(request, f"Alert rule “{rule.name}” deleted.")
    return redirect("alerts_overview")


@require_http_methods(["GET", "POST"])
def alert_destination_form(request, pk: int | None = None):
    """A new destination, or the one ``pk`` to edit (with its delivery log)."""
    action = "alert.destination.create" if pk is None else "alert.destination.edit"
    role = access.require_global_admin(request, action=action)
    destination = Destination() if pk is None else get_object_or_404(Destination, pk=pk)
    initial = {}
    if destination.pk:
        initial = {k: getattr(destination, k) for k in ("name", "kind", "recipients", "enabled")}
        initial["seen"] = record_edits.seen_token(admin.destination_state(destination))
    form = DestinationForm(
        request.POST or None, destination=destination, request_host=request.get_host(), initial=initial
    )
    status = 422 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        actor = _actor(request, role)
        saved = record_edits.save_unless_changed(
            form, lambda: admin.destination_save(actor=actor, destination=destination, data=form.cleaned_data)
        )
        if saved is not None:
            messages.success(request, f"Destination “{saved.name}” saved. Send a test to check it.")
            return redirect("alert_destination_edit", saved.pk)
        status = 409
    log = []
    if destination.pk:
        log = Delivery.objects.filter(destination=destination).select_related("alert").prefetch_related("log")[:30]
    context = {"form": form, "destination": destination, "log": log}
    return render(request, "watch/destination_form.html", context, status=status)


@require_POST
def alert_destination_delete(request, pk: int):
    role = access.require_global_admin(request, action="alert.destination.delete")
    destination = get_object_or_404(Destination, pk=pk)
    admin.destination_delete(actor=_actor(request, role), destination=destination)
    messages.success(request, f"Destination “{destination.name}” deleted.")
    return redirect("alerts_overview")


@require_POST
def alert_destination_test(request, pk: int):
    role = access.require_global_admin(request, action="alert.destination.test")
    destination = get_object_or_404(Destination, pk=pk)
    delivery = admin.destination_test(actor=_actor(request, role), destination=destination)
    if delivery.status == Delivery.Status.DELIVERED:
        messages.success(request, f"Test alert delivered to “{destination.name}”.")
    else:
        messages.error(request, f"The test alert was not delivered: {delivery.last_error} It is kept as a dead letter.")
    return redirect("alert_destination_edit", destination.pk)


@require_POST
def alert_delivery_retry(request, pk: int):
    role = access.require_global_admin(request, action="alert.delivery.retry")
    delivery = get_object_or_404(Delivery.objects.select_related("alert", "destination"), pk=pk)
    delivery = admin.delivery_retry(actor=_actor(request, role), delivery=delivery)
    if delivery.status == Delivery.Status.DELIVERED:
        messages.success(request, f"Delivered to “{delivery.destination.name}”.")
    elif delivery.status == Delivery.Status.DEAD:
        messages.error(request, f"Still not delivered: {delivery.last_error}")
    else:
        messages.info(request, f"Queued for “{delivery.destination.name}”; tried again in the background.")
    back = request.POST.get("back") == "destination"
    return redirect(reverse("alert_destination_edit", args=[delivery.destination_id]) if back else "alerts_overview")


# --- the bucket page's drift card ------------------------------------------------------------------
def _bucket_scope(request, endpoint_pk: int, bucket: str, need: Role, action: str):
    endpoint = endpoint_or_404(endpoint_pk)
    role = access.require_role(request, need, action=action, endpoint=endpoint, bucket=bucket, key="")
    return endpoint, role


def _card(request, endpoint, bucket: str, role: Role, **extra):
    context = {"endpoint": endpoint, "bucket": bucket, "role": role, "may_check": role.rank >= Role.OPERATOR.rank}
    context.update(drift.bucket_drift(endpoint=endpoint, bucket=bucket))
    return render(request, "watch/_bucket_drift.html", {**context, **extra})


@require_GET
def bucket_drift(request, endpoint_pk: int, bucket: str):
    endpoint, role = _bucket_scope(request, endpoint_pk, bucket, Role.VIEWER, "bucket.drift.view")
    if not request.htmx:  # the card is part of the bucket page, not a page of its own
        return redirect(reverse("bucket_detail", args=[endpoint.pk, bucket]) + "#bucket-drift")
    return _card(request, endpoint, bucket, role)


@require_POST
def bucket_drift_check(request, endpoint_pk: int, bucket: str):
    """Check now: one drift pass over this bucket, within the page's S3 budget."""
    endpoint, role = _bucket_scope(request, endpoint_pk, bucket, Role.OPERATOR, "bucket.drift.check")
    result = drift.drift_check(endpoints=[endpoint], bucket=bucket, trigger="button")
    found = len(result.events)
    problem = "; ".join(reason for _, reason in result.run.unchecked)
    text = f"Could not check: {problem}" if problem else (
        f"Checked now: {found} new change{'s' if found != 1 else ''} made outside the console." if found
        else "Checked now: no new change outside the console."
    )  # fmt: skip
    if not request.htmx:
        (messages.warning if problem else messages.success)(request, text)
        return redirect(reverse("bucket_detail", args=[endpoint.pk, bucket]) + "#bucket-drift")
    return _card(request, endpoint, bucket, role, notice=text)
