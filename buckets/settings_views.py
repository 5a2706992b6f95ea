"""The bucket page's settings: one lazily loaded, inline-editable partial per setting.

Every setting follows one pattern (display / edit / save / remove), described by a
:class:`Setting` in ``SETTINGS``; the policy review step, the canned ACL and the
lifecycle rules add a few views of their own. Viewers see values; admins change them.
Each change is one audited call whose ``after`` is the value re-read from S3.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from buckets import policy as bucket_policy
from buckets import s3
from buckets import settings_forms as sf
from buckets.models import Bucket
from console import access, audit
from console.models import Endpoint, Role


# --- what each setting reads and writes --------------------------------------------------------
def read_overview(endpoint: Endpoint, name: str) -> dict:
    """Versioning, region and the public indicator; a part that cannot be read is named, not fatal."""
    unknown: list[str] = []

    def attempt(label: str, getter: Callable, default: Any = None) -> Any:
        try:
            return getter(endpoint=endpoint, bucket=name)
        except s3.S3Error as exc:
            if not exc.not_supported:
                unknown.append(f"{label}: {exc.user_message}")
            return default

    versioning = s3.get_bucket_versioning(endpoint=endpoint, bucket=name)  # NoSuchBucket etc. fail the partial
    region = attempt("region", s3.get_bucket_location, "")
    checked = len(unknown)
    policy_text = attempt("bucket policy", s3.get_bucket_policy)
    acl = attempt("ACL", s3.get_bucket_acl)
    block = attempt("public access block", s3.get_public_access_block)
    try:
        document = json.loads(policy_text) if policy_text else None
    except json.JSONDecodeError:
        document, unknown = None, [*unknown, "bucket policy: not valid JSON"]
    status = bucket_policy.public_status(policy=document, acl=acl, block=block, unknown=unknown[checked:])
    if status.level != "unknown":
        # The dashboard lists public buckets from this record, without an S3 call per bucket.
        Bucket.objects.filter(endpoint=endpoint, name=name).update(
            is_public=status.level == "public", public_checked_at=timezone.now()
        )
    return {"versioning": versioning, "region": region, "public": status, "block": block, "unknown": unknown}


def _write_encryption(endpoint: Endpoint, name: str, data: dict, before: Any) -> None:
    if data["algorithm"] == "none":
        if before is not None:
            s3.delete_bucket_encryption(endpoint=endpoint, bucket=name)
        return
    s3.put_bucket_encryption(
        endpoint=endpoint,
        bucket=name,
        algorithm=data["algorithm"],
        kms_key_id=data["kms_key_id"],
        bucket_key=data["bucket_key"],
    )


def _write_website(endpoint: Endpoint, name: str, data: dict, before: Any) -> None:
    # Keep what the form does not show (routing rules); index/error replace a redirect-all setup.
    config = {k: v for k, v in (before or {}).items() if k == "RoutingRules"}
    config["IndexDocument"] = {"Suffix": data["index_document"]}
    if data["error_document"]:
        config["ErrorDocument"] = {"Key": data["error_document"]}
    s3.put_bucket_website(endpoint=endpoint, bucket=name, config=config)


def _present_policy(value: str | None) -> dict:
    try:
        document = json.loads(value) if value else None
    except json.JSONDecodeError:
        document = None
    return {"pretty": bucket_policy.pretty(value), "public": bool(bucket_policy.public_statements(document))}


def _present_acl(value: dict) -> dict:
    groups = {uri: name for name, uri in sf.GROUPS.items()}
    rows = [
        {
            "who": groups.get(g["grantee"]) or g["display_name"] or g["grantee"],
            "detail": g["grantee"] if g["display_name"] not in ("", g["grantee"]) else "",
            "kind": dict(sf.GRANTEE_TYPES).get(g["type"], g["type"]),
            "permission": g["permission"],
            "public": g["type"] == "Group" and g["grantee"] in bucket_policy.PUBLIC_GROUPS,
        }
        for g in value["grants"]
    ]
    return {"grant_rows": rows}


def _encryption_initial(value: dict | None) -> dict:
    if not value:
        return {"algorithm": "none"}
    algorithm = "aws:kms" if value["algorithm"].startswith("aws:kms") else value["algorithm"]
    return {"algorithm": algorithm, "kms_key_id": value["kms_key_id"], "bucket_key": value["bucket_key"]}


def _lock_initial(value: dict | None) -> dict:
    return {k: (value or {}).get(k) for k in ("mode", "days", "years")}


def _website_initial(value: dict | None) -> dict:
    value = value or {}
    return {
        "index_document": (value.get("IndexDocument") or {}).get("Suffix", "index.html"),
        "error_document": (value.get("ErrorDocument") or {}).get("Key", ""),
    }


@dataclass(frozen=True)
class Setting:
    slug: str
    title: str
    read: Callable[[Endpoint, str], Any]
    form: type[sf.SettingForm] | None = None
    write: Callable[[Endpoint, str, dict, Any], None] | None = None
    initial: Callable[[Any], dict] = lambda value: {}
    form_kwargs: Callable[[Any], dict] = lambda value: {}
    editable: Callable[[Any], bool] = lambda value: True
    present: Callable[[Any], dict] = lambda value: {}
    remove: Callable[[Endpoint, str], None] | None = None
    remove_label: str = ""
    remove_confirm: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def template(self) -> str:
        return f"buckets/settings/{self.slug}.html"

    def action(self, verb: str = "put") -> str:
        return f"bucket.{self.slug.replace('-', '_')}.{verb}"


def _get(getter: Callable) -> Callable[[Endpoint, str], Any]:
    return lambda endpoint, name: getter(endpoint=endpoint, bucket=name)


SETTINGS: dict[str, Setting] = {
    s.slug: s
    for s in [
        Setting("overview", "Overview", read_overview),
        Setting(
            "versioning",
            "Versioning",
            _get(s3.get_bucket_versioning),
            form=sf.VersioningForm,
            write=lambda e, n, d, b: s3.put_bucket_versioning(endpoint=e, bucket=n, status=d["status"]),
            # Never enabled: nothing pre-selected, so an unchanged Save cannot switch it on for good.
            initial=lambda v: {"status": v["status"]},
        ),
        Setting(
            "encryption",
            "Default encryption",
            _get(s3.get_bucket_encryption),
            form=sf.EncryptionForm,
            write=_write_encryption,
            initial=_encryption_initial,
        ),
        Setting(
            "tags",
            "Tags",
            _get(s3.get_bucket_tags),
            form=sf.TagsForm,
            write=lambda e, n, d, b: s3.put_bucket_tags(endpoint=e, bucket=n, tags=d["tags"]),
            form_kwargs=lambda v: {"initial_tags": v},
        ),
        Setting(
            "cors",
            "CORS",
            _get(s3.get_bucket_cors),
            form=sf.CorsForm,
            write=lambda e, n, d, b: (
                s3.put_bucket_cors(endpoint=e, bucket=n, rules=d["rules"])
                if d["rules"]
                else b and s3.delete_bucket_cors(endpoint=e, bucket=n)  # nothing to delete: no call
            ),
            # Empty when there are no rules (the example is the placeholder): an unchanged Save must not add a rule.
            initial=lambda v: {"rules": json.dumps(v, indent=2) if v else ""},
            remove=lambda e, n: s3.delete_bucket_cors(endpoint=e, bucket=n),
            remove_label="Remove CORS",
            remove_confirm="Remove every CORS rule of this bucket?",
            extra={"example": json.dumps(sf.CORS_EXAMPLE, indent=2)},
        ),
        Setting(
            "lifecycle",
            "Lifecycle rules",
            _get(s3.get_bucket_lifecycle),
            remove=lambda e, n: s3.put_bucket_lifecycle(endpoint=e, bucket=n, rules=[]),
            present=lambda v: {"rules": [sf.describe_lifecycle_rule(r) for r in v]},
            remove_label="Remove all rules",
            remove_confirm="Remove every lifecycle rule of this bucket?",
        ),
        Setting(
            "policy",
            "Bucket policy",
            _get(s3.get_bucket_policy),
            form=sf.PolicyForm,
            write=lambda e, n, d, b: s3.put_bucket_policy(endpoint=e, bucket=n, policy=d["policy"]),
            initial=lambda v: {"policy": bucket_policy.pretty(v)},
            present=_present_policy,
            remove=lambda e, n: s3.delete_bucket_policy(endpoint=e, bucket=n),
            remove_label="Delete policy",
            remove_confirm="Delete the bucket policy? Access it grants stops at once.",
        ),
        Setting(
            "acl",
            "Access control list (ACL)",
            _get(s3.get_bucket_acl),
            form=sf.AclGrantsForm,
            write=lambda e, n, d, b: s3.put_bucket_acl(
                endpoint=e, bucket=n, grants=d["grants"], owner_id=(b or {}).get("owner", {}).get("id", "")
            ),
            form_kwargs=lambda v: {"initial_grants": v["grants"]},
            present=_present_acl,
        ),
        Setting(
            "public-access-block",
            "Block public access",
            _get(s3.get_public_access_block),
            form=sf.PublicAccessBlockForm,
            write=lambda e, n, d, b: s3.put_public_access_block(endpoint=e, bucket=n, flags=d),
            initial=lambda v: v or {},
            remove=lambda e, n: s3.delete_public_access_block(endpoint=e, bucket=n),
            remove_label="Remove the block",
            remove_confirm="Remove the bucket's public access block? Public ACLs and policies take effect again.",
        ),
        Setting(
            "ownership",
            "Object ownership",
            _get(s3.get_bucket_ownership),
            form=sf.OwnershipForm,
            write=lambda e, n, d, b: s3.put_bucket_ownership(endpoint=e, bucket=n, ownership=d["ownership"]),
            initial=lambda v: {"ownership": v or "BucketOwnerEnforced"},
        ),
        Setting(
            "object-lock",
            "Object lock",
            _get(s3.get_object_lock),
            form=sf.ObjectLockForm,
            write=lambda e, n, d, b: s3.put_object_lock(
                endpoint=e, bucket=n, mode=d["mode"], days=d["days"], years=d["years"]
            ),
            initial=_lock_initial,
            editable=lambda v: bool(v and v["enabled"]),
        ),
        Setting(
            "website",
            "Static website hosting",
            _get(s3.get_bucket_website),
            form=sf.WebsiteForm,
            write=_write_website,
            initial=_website_initial,
            remove=lambda e, n: s3.delete_bucket_website(endpoint=e, bucket=n),
            remove_label="Disable website hosting",
            remove_confirm="Disable static website hosting for this bucket?",
        ),
    ]
}


# --- helpers ---------------------------------------------------------------------------------------
def _setting(slug: str, *, needs: str = "") -> Setting:
    spec = SETTINGS.get(slug)
    if spec is None or (needs and getattr(spec, needs) is None):
        raise Http404("No such setting.")
    return spec


def _scope(request, endpoint_pk: int, bucket: str, need: Role, action: str) -> tuple[Endpoint, Bucket, Role]:
    """Access first (404 when invisible, 403 + audit when the role is too low), then the bucket record."""
    endpoint = get_object_or_404(Endpoint, pk=endpoint_pk)
    # key="" is the whole bucket: a role on a prefix only does not open the bucket's settings.
    role = access.require_role(request, need, action=action, endpoint=endpoint, bucket=bucket, key="")
    record = get_object_or_404(Bucket, endpoint=endpoint, name=bucket)
    return endpoint, record, role


def _urls(spec: Setting, endpoint: Endpoint, record: Bucket) -> dict[str, str]:
    args = [endpoint.pk, record.name, spec.slug]
    urls = {verb: reverse(f"bucket_setting{suffix}", args=args) for verb, suffix in (("show", ""), ("edit", "_edit"))}
    urls["save"] = reverse("bucket_setting_save", args=args)
    urls["remove"] = reverse("bucket_setting_remove", args=args)
    urls["page"] = reverse("bucket_detail", args=[endpoint.pk, record.name]) + f"#setting-{spec.slug}"
    return urls


def _context(spec: Setting, endpoint: Endpoint, record: Bucket, role: Role, **extra: Any) -> dict:
    context = {
        "setting": spec,
        "endpoint": endpoint,
        "bucket": record,
        "role": role,
        "can_edit": role.can_admin,
        "urls": _urls(spec, endpoint, record),
    }
    if spec.slug == "acl" and "canned_form" not in extra:
        context["canned_form"] = sf.CannedAclForm(bucket=record.name)
    return context | extra


def _respond(request, spec: Setting, part: str, context: dict, status: int = 200):
    """The partial for htmx; without JavaScript the same partial inside a page of its own."""
    name = f"{spec.template}#{part}"
    if request.htmx:
        return render(request, name, context, status=status)
    return render(request, "buckets/settings/page.html", {**context, "partial": name}, status=status)


def _display(request, spec, endpoint, record, role, *, value: Any = None, error=None, status=200, **extra):
    editable = role.can_admin and error is None and spec.form is not None and spec.editable(value)
    removable = role.can_admin and error is None and spec.remove is not None and value not in (None, "", [], {})
    if error is None:
        extra = spec.present(value) | extra
    context = _context(
        spec, endpoint, record, role, value=value, error=error, editable=editable, removable=removable, **extra
    )
    return _respond(request, spec, "display", context, status)


def _read_and_display(request, spec, endpoint, record, role, **extra):
    try:
        value = spec.read(endpoint, record.name)
    except s3.S3Error as exc:
        return _display(request, spec, endpoint, record, role, error=exc, **extra)
    return _display(request, spec, endpoint, record, role, value=value, **extra)


def _form(request, spec, endpoint, record, role, form, *, s3_error=None, part="form", status=422, **extra):
    context = _context(spec, endpoint, record, role, form=form, s3_error=s3_error, **extra)
    return _respond(request, spec, part, context, status)


def _done(request, spec, endpoint, record, role, after: Any, text: str):
    """After a change: htmx gets the display partial with what S3 now holds; a plain POST a redirect."""
    if not request.htmx:
        messages.success(request, text)
        return redirect(_urls(spec, endpoint, record)["page"])
    return _display(request, spec, endpoint, record, role, value=after, saved=text)


def _params(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "original_id"}


def change_setting(request, spec, endpoint, record, role, action: str, params: dict, apply: Callable[[Any], None]):
    """Read the value before, apply the change in one audited call, re-read it. Returns the value after."""
    actor = audit.Actor.from_request(request, role)
    try:
        before = spec.read(endpoint, record.name)
    except s3.S3Error:
        with audit.change(actor, action, endpoint=endpoint, bucket=record.name, params=params):
            raise  # the attempt is recorded as failed, with S3's answer
    with audit.change(actor, action, endpoint=endpoint, bucket=record.name, params=params, before=before) as ev:
        apply(before)
        ev.after = spec.read(endpoint, record.name)
    return ev.after


# --- the generic views -------------------------------------------------------------------------------
@require_GET
def setting_show(request, endpoint_pk: int, bucket: str, setting: str):
    spec = _setting(setting)
    endpoint, record, role = _scope(request, endpoint_pk, bucket, Role.VIEWER, spec.action("view"))
    return _read_and_display(request, spec, endpoint, record, role)


@require_GET
def setting_edit(request, endpoint_pk: int, bucket: str, setting: str):
    spec = _setting(setting, needs="form")
    endpoint, record, role = _scope(request, endpoint_pk, bucket, Role.ADMIN, spec.action())
    try:
        value = spec.read(endpoint, record.name)
    except s3.S3Error as exc:
        return _display(request, spec, endpoint, record, role, error=exc)
    if not spec.editable(value):
        return _display(request, spec, endpoint, record, role, value=value)
    form = spec.form(bucket=record.name, initial=spec.initial(value), **spec.form_kwargs(value))
    return _form(request, spec, endpoint, record, role, form, status=200)


@require_POST
def setting_save(request, endpoint_pk: int, bucket: str, setting: str):
    spec = _setting(setting, needs="write")
    endpoint, record, role = _scope(request, endpoint_pk, bucket, Role.ADMIN, spec.action())
    form = spec.form(request.POST, bucket=record.name)
    if not form.is_valid():
        return _form(request, spec, endpoint, record, role, form)
    data = form.cleaned_data
    try:
        after = change_setting(
            request,
            spec,
            endpoint,
            record,
            role,
            spec.action(),
            _params(data),
            lambda before: spec.write(endpoint, record.name, data, before),
        )
    except s3.S3Error as exc:
        if exc.not_supported:
            return _display(request, spec, endpoint, record, role, error=exc)
        return _form(request, spec, endpoint, record, role, form, s3_error=exc)
    return _done(request, spec, endpoint, record, role, after, f"{spec.title} saved.")


@require_POST
def setting_remove(request, endpoint_pk: int, bucket: str, setting: str):
    spec = _setting(setting, needs="remove")
    endpoint, record, role = _scope(request, endpoint_pk, bucket, Role.ADMIN, spec.action("delete"))
    try:
        after = change_setting(
            request,
            spec,
            endpoint,
            record,
            role,
            spec.action("delete"),
            {},
            lambda before: spec.remove(endpoint, record.name),
        )
    except s3.S3Error as exc:
        return _display(request, spec, endpoint, record, role, error=exc)
    return _done(request, spec, endpoint, record, role, after, f"{spec.title}: removed.")


# --- bucket policy: editor helpers and the review step ---------------------------------------------------
@require_POST
def policy_editor(request, endpoint_pk: int, bucket: str):
    """Back to the editor with the posted text, optionally through a helper. No S3 call."""
    spec = SETTINGS["policy"]
    endpoint, record, role = _scope(request, endpoint_pk, bucket, Role.ADMIN, spec.action())
    text, preset, note = request.POST.get("policy", ""), request.POST.get("preset", ""), ""
    if preset in ("public-read", "remove-public"):
        try:
            current = json.loads(text) if text.strip() else None
        except json.JSONDecodeError:
            form = sf.PolicyForm({"policy": text}, bucket=record.name)
            form.is_valid()
            return _form(request, spec, endpoint, record, role, form, note="Fix the JSON before using a helper.")
        if preset == "public-read":
            result = bucket_policy.allow_public_read(current, record.name)
            note = "Added a statement that lets everyone read every object. Review it before saving."
        else:
            result = bucket_policy.remove_public_access(current)
            note = "Removed the statements that allow everyone. Review before saving."
            if result is None:
                note = "No statement would remain: to remove public access, use “Delete policy”."
        text = bucket_policy.pretty(result)
    form = sf.PolicyForm(bucket=record.name, initial={"policy": text})
    return _form(request, spec, endpoint, record, role, form, status=200, note=note)


@require_POST
def policy_review(request, endpoint_pk: int, bucket: str):
    """Validate, then show the diff between the stored policy and the new one, with the Save button."""
    spec = SETTINGS["policy"]
    endpoint, record, role = _scope(request, endpoint_pk, bucket, Role.ADMIN, spec.action())
    form = sf.PolicyForm(request.POST, bucket=record.name)
    if not form.is_valid():
        return _form(request, spec, endpoint, record, role, form)
    try:
        stored = s3.get_bucket_policy(endpoint=endpoint, bucket=record.name)
    except s3.S3Error as exc:
        return _form(request, spec, endpoint, record, role, form, s3_error=exc)
    new = form.cleaned_data["policy"]
    document = json.loads(new)
    context = {
        "form": form,
        "diff": bucket_policy.diff_lines(bucket_policy.pretty(stored), new),
        "new_policy": new,
        "makes_public": bool(bucket_policy.public_statements(document)),
    }
    return _respond(request, spec, "review", _context(spec, endpoint, record, role, **context))


# --- ACL: canned ------------------------------------------------------------------------------------------
@require_POST
def acl_canned(request, endpoint_pk: int, bucket: str):
    spec = SETTINGS["acl"]
    endpoint, record, role = _scope(request, endpoint_pk, bucket, Role.ADMIN, spec.action())
    canned_form = sf.CannedAclForm(request.POST, bucket=record.name)
    grants_form = sf.AclGrantsForm(bucket=record.name)
    if not canned_form.is_valid():
        return _form(request, spec, endpoint, record, role, grants_form, canned_form=canned_form)
    acl = canned_form.cleaned_data["acl"]
    try:
        after = change_setting(
            request,
            spec,
            endpoint,
            record,
            role,
            spec.action(),
            {"canned": acl},
            lambda before: s3.put_bucket_acl(endpoint=endpoint, bucket=record.name, canned=acl),
        )
    except s3.S3Error as exc:
        if exc.not_supported:
            return _display(request, spec, endpoint, record, role, error=exc)
        return _form(request, spec, endpoint, record, role, grants_form, canned_form=canned_form, s3_error=exc)
    return _done(request, spec, endpoint, record, role, after, f"ACL set to {acl}.")


# --- lifecycle: one rule at a time -------------------------------------------------------------------------
class RuleConflict(Exception):
    """The stored rules changed in a way that makes this edit ambiguous."""


def _find_rule(rules: list[dict], rule_id: str) -> dict | None:
    return next((r for r in rules if r.get("ID") == rule_id), None)


@require_GET
def lifecycle_rule_edit(request, endpoint_pk: int, bucket: str):
    spec = SETTINGS["lifecycle"]
    endpoint, record, role = _scope(request, endpoint_pk, bucket, Role.ADMIN, spec.action())
    rule_id = request.GET.get("id", "")
    try:
        rules = spec.read(endpoint, record.name)
    except s3.S3Error as exc:
        return _display(request, spec, endpoint, record, role, error=exc)
    rule = _find_rule(rules, rule_id) if rule_id else {}
    if rule is None:
        return _display(request, spec, endpoint, record, role, value=rules, notice="That rule no longer exists.")
    initial = sf.lifecycle_rule_initial(rule) if rule else {"status": "Enabled", "rule_id": f"rule-{len(rules) + 1}"}
    form = sf.LifecycleRuleForm(bucket=record.name, initial=initial)
    return _form(request, spec, endpoint, record, role, form, status=200)


@require_POST
def lifecycle_rule_save(request, endpoint_pk: int, bucket: str):
    spec = SETTINGS["lifecycle"]
    endpoint, record, role = _scope(request, endpoint_pk, bucket, Role.ADMIN, spec.action())
    form = sf.LifecycleRuleForm(request.POST, bucket=record.name)
    if not form.is_valid():
        return _form(request, spec, endpoint, record, role, form)
    original_id, new_id = form.cleaned_data["original_id"], form.cleaned_data["rule_id"]

    def apply(before: list[dict]) -> None:
        original = _find_rule(before, original_id) if original_id else None
        if original_id and original is None:
            raise RuleConflict("This rule was removed meanwhile; cancel to see the current rules.")
        if new_id != original_id and _find_rule(before, new_id):
            raise RuleConflict(f"Another rule is already named “{new_id}”.")
        rule = form.rule(original)
        rules = [rule if r is original else r for r in before] if original else [*before, rule]
        s3.put_bucket_lifecycle(endpoint=endpoint, bucket=record.name, rules=rules)

    try:
        after = change_setting(request, spec, endpoint, record, role, spec.action(), _params(form.cleaned_data), apply)
    except RuleConflict as exc:
        form.add_error("rule_id", str(exc))
        return _form(request, spec, endpoint, record, role, form)
    except s3.S3Error as exc:
        return _form(request, spec, endpoint, record, role, form, s3_error=exc)
    return _done(request, spec, endpoint, record, role, after, f"Lifecycle rule “{new_id}” saved.")


@require_POST
def lifecycle_rule_delete(request, endpoint_pk: int, bucket: str):
    spec = SETTINGS["lifecycle"]
    endpoint, record, role = _scope(request, endpoint_pk, bucket, Role.ADMIN, spec.action("rule_delete"))
    rule_id = request.POST.get("rule_id", "")

    def apply(before: list[dict]) -> None:
        if _find_rule(before, rule_id) is None:
            raise RuleConflict("That rule no longer exists.")
        rules = [r for r in before if r.get("ID") != rule_id]
        s3.put_bucket_lifecycle(endpoint=endpoint, bucket=record.name, rules=rules)

    try:
        after = change_setting(
            request, spec, endpoint, record, role, spec.action("rule_delete"), {"rule_id": rule_id}, apply
        )
    except RuleConflict as exc:
        return _read_and_display(request, spec, endpoint, record, role, notice=str(exc))
    except s3.S3Error as exc:
        return _display(request, spec, endpoint, record, role, error=exc)
    return _done(request, spec, endpoint, record, role, after, f"Lifecycle rule “{rule_id}” deleted.")
