"""Bucket settings with a step of their own: the policy editor's helpers and review, lifecycle rules one by one.

They use the generic section machinery (``views.sections``): the same scope check, wrapper and one
write path (``section_change``); only their forms and steps differ.
"""

from __future__ import annotations

from dataclasses import replace

from django.views.decorators.http import require_GET, require_POST

from buckets import policy as bucket_policy
from buckets import s3
from buckets.forms.base import sign_seen
from buckets.forms.settings import LifecycleRuleForm, PolicyForm, lifecycle_rule_initial
from buckets.services import bucket_settings
from buckets.services.sections import normalised
from buckets.views.sections import SeenOnly, change, display, read_state, render_section, saved, section_scope
from console import safejson

POLICY_STEP = "buckets/sections/bucket/policy.html#review"
RULE_STEP = "buckets/sections/bucket/lifecycle.html#rule"


# --- policy ---------------------------------------------------------------------------------------
def _policy_form(request, target, seen_token: str, text: str, *, bound: bool):
    data = {"policy": text, "seen": seen_token}
    return PolicyForm(data, target=target) if bound else PolicyForm(target=target, initial=data)


@require_POST
def policy_editor(request, endpoint_pk: int, bucket: str):
    """Back to the editor with the posted text, optionally through a helper. No S3 call."""
    spec, target, role = section_scope(request, endpoint_pk, bucket, "bucket", "policy", write=True)
    text, preset, note, offer_delete = request.POST.get("policy", ""), request.POST.get("preset", ""), "", False
    seen = request.POST.get("seen", "")
    if preset in ("public-read", "remove-public"):
        try:
            current = safejson.loads(text, max_bytes=bucket_policy.MAX_POLICY_BYTES) if text.strip() else None
        except safejson.JSONRefused:
            form = _policy_form(request, target, seen, text, bound=True)
            form.is_valid()
            return render_section(request, spec, target, role, "form", 422, form=form, note="Fix the JSON first.")
        if preset == "public-read":
            result = bucket_policy.allow_public_read(current, target.bucket)
            note = "Added a statement that lets everyone read every object. Review it before saving."
        else:
            result = bucket_policy.remove_public_access(current)
            note = "Removed the statements that allow everyone. Review before saving."
            if result is None:
                note = "No statement would remain: every statement lets everyone in. Delete the policy instead:"
                offer_delete = True
                result = current  # the text stays as it was
        text = bucket_policy.pretty(result)
    form = _policy_form(request, target, seen, text, bound=False)
    return render_section(request, spec, target, role, "form", form=form, note=note, offer_delete=offer_delete)


@require_POST
def policy_review(request, endpoint_pk: int, bucket: str):
    """Validate, then show the diff between the stored policy and the new one, with the Save button."""
    spec, target, role = section_scope(request, endpoint_pk, bucket, "bucket", "policy", write=True)
    form = PolicyForm(request.POST, target=target)
    if not form.is_valid():
        # An emptied editor means "no policy": the button that does that, on this form.
        empty = not request.POST.get("policy", "").strip()
        note = "An empty policy cannot be saved. To remove the bucket policy:" if empty else ""
        return render_section(request, spec, target, role, "form", 422, form=form, note=note, offer_delete=empty)
    state = read_state(spec, target)
    if "error" in state:
        return render_section(request, spec, target, role, "form", 422, form=form, s3_error=state["error"])
    new = form.cleaned_data["policy"]
    return render_section(
        request, spec, target, role, "step", form=form, step=POLICY_STEP, new_policy=new,
        diff=bucket_policy.diff_lines(bucket_policy.pretty(state["value"]), new),
        makes_public=bool(bucket_policy.public_statements(safejson.loads(new, max_bytes=4 * len(new) + 2))),
    )  # fmt: skip


# --- lifecycle rules, one at a time ---------------------------------------------------------------------
@require_GET
def lifecycle_rule_edit(request, endpoint_pk: int, bucket: str):
    spec, target, role = section_scope(request, endpoint_pk, bucket, "bucket", "lifecycle", write=True)
    state = read_state(spec, target)
    if "error" in state:
        return render_section(request, spec, target, role, **state)
    rules, rule_id = state["value"], request.GET.get("id", "")
    rule = bucket_settings.find_rule(rules, rule_id) if rule_id else {}
    if rule is None:
        return display(request, spec, target, role, notice="That rule no longer exists.")
    if rule:
        initial = {**lifecycle_rule_initial(rule), "seen": _sign(rule)}
    else:
        initial = {"status": "Enabled", "rule_id": f"rule-{len(rules) + 1}"}
    form = LifecycleRuleForm(target=target, initial=initial, accepted=target.endpoint.accepted_storage_classes)
    return render_section(request, spec, target, role, "step", form=form, step=RULE_STEP)


def _sign(rule: dict) -> str:
    return sign_seen(normalised(rule))


@require_POST
def lifecycle_rule_save(request, endpoint_pk: int, bucket: str):
    spec, target, role = section_scope(request, endpoint_pk, bucket, "bucket", "lifecycle", write=True)
    form = LifecycleRuleForm(request.POST, target=target, accepted=target.endpoint.accepted_storage_classes)
    if form.is_valid():
        original_id = form.cleaned_data["original_id"]
        rules_spec = _one_rule(spec, original_id)

        def apply(rules: list[dict]) -> None:
            bucket_settings.lifecycle_rule_put(target, rules, original_id, form.rule)

        if _rule_change(request, rules_spec, target, role, form, apply):
            return saved(request, spec, target, role, f"Lifecycle rule “{form.cleaned_data['rule_id']}” saved.")
    return render_section(request, spec, target, role, "step", 422, form=form, step=RULE_STEP)


@require_POST
def lifecycle_rule_delete(request, endpoint_pk: int, bucket: str):
    spec, target, role = section_scope(request, endpoint_pk, bucket, "bucket", "lifecycle", write=True)
    rule_id = request.POST.get("rule_id", "")
    form = SeenOnly(request.POST.get("seen", ""))

    def apply(rules: list[dict]) -> None:
        bucket_settings.lifecycle_rule_remove(target, rules, rule_id)

    if not form.errors and _rule_change(request, _one_rule(spec, rule_id), target, role, form, apply, "rule_delete"):
        return saved(request, spec, target, role, f"Lifecycle rule “{rule_id}” deleted.")
    return display(request, spec, target, role, notice=" ".join(str(e) for e in form.errors))


def _one_rule(spec, rule_id: str):
    """The lifecycle section seen through one rule: a save conflicts only when *that* rule changed."""
    return replace(spec, fingerprint=lambda rules: bucket_settings.find_rule(rules, rule_id) if rule_id else None)


def _rule_change(request, spec, target, role, form, apply, verb: str = "put") -> bool:
    try:
        return change(request, spec, target, role, form, apply, verb=verb)
    except bucket_settings.RuleConflict as exc:
        form.add_error("rule_id" if hasattr(form, "fields") else None, str(exc))
        return False
    except s3.S3Error:  # already in the form
        return False
