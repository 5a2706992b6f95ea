"""The generic views of every inline section (bucket page and object page): show, edit, save, remove.

GET show answers the display partial, GET edit the form, POST save the display with what S3 now holds
(or the form with the reason it was not saved), POST remove the display again. htmx swaps the section
in place; without JavaScript the same partial comes inside a page of its own. Access first: 404 when
the bucket or key is not visible, 403 (and a "denied" audit row) when the role is too low.
"""

from __future__ import annotations

import functools
import time
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core import signing
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import get_script_prefix, get_urlconf, reverse
from django.views.decorators.http import require_GET, require_POST

from buckets import locks, s3, vocabulary
from buckets.forms.base import read_seen, sign_seen
from buckets.models import Bucket
from buckets.sections import BUCKET_SECTIONS, Section, section_for
from buckets.services import objects as object_services
from buckets.services import sections as services
from buckets.services.sections import Conflict, Target, normalised
from buckets.views.common import actor, endpoint_or_404, key_param
from buckets.views.section_reads import read_state, read_states
from console import access, rows
from console.errors import NotFound
from console.models import Role

WRAPPER = "buckets/sections/section.html"
SECTIONS_OF = {"bucket": BUCKET_SECTIONS}
INLINE_WAIT = 0.15  # seconds the bucket page waits for its sections' reads before leaving them to htmx
INLINE_PAUSE = 120  # seconds after a miss during which this process leaves an endpoint's sections to htmx
_inline_missed: dict[int, float] = {}  # endpoint pk: when its reads last missed INLINE_WAIT
ACL_VOCABULARY = {
    "grantee_types": vocabulary.GRANTEE_TYPES,
    "permissions": vocabulary.PERMISSIONS,
    "groups": vocabulary.GROUPS,
}


# --- access and context --------------------------------------------------------------------------
def section_scope(request, endpoint_pk: int, bucket: str, page: str, slug: str, *, write: bool, needs: str = ""):
    """(section, target, role), after the access check for the bucket (bucket page) or the key (object page)."""
    spec = section_for(page, slug)
    if spec is None or (needs and getattr(spec, needs) is None):
        raise NotFound("No such section.")
    endpoint = endpoint_or_404(endpoint_pk)
    need = spec.edit_role if write else Role.VIEWER
    verb = spec.action("put") if write else spec.action("view")
    if page == "bucket":
        # key="" is the whole bucket: a role on a prefix only does not open the bucket's settings.
        role = access.require_role(request, need, action=verb, endpoint=endpoint, bucket=bucket, key="")
        target = Target(endpoint, bucket, record=get_object_or_404(Bucket, endpoint=endpoint, name=bucket))
    else:
        key = key_param(request)
        role = access.require_role(request, need, action=verb, endpoint=endpoint, bucket=bucket, key=key)
        version_id = (request.POST if request.method == "POST" else request.GET).get("version_id", "")
        target = Target(endpoint, bucket, key=key, version_id=version_id)
    return spec, target, role


def section_urls(spec: Section, target: Target) -> dict[str, str]:
    query = ""
    if target.key:
        query = "?" + s3_query(target)
    prefix = "bucket_setting" if spec.page == "bucket" else "object_section"
    pk, bucket = target.endpoint.pk, target.bucket
    urls = {verb: _url(f"{prefix}{suffix}", pk, bucket, spec.slug) + query for verb, suffix in _VERBS}
    urls["edit_path"] = _url(f"{prefix}_edit", pk, bucket, spec.slug)  # for a GET form, which carries the key itself
    urls["review"] = _url("bucket_policy_review", pk, bucket) if spec.submit_to == "review" else ""
    page = "bucket_detail" if spec.page == "bucket" else "object_detail"
    urls["page"] = _url(page, pk, bucket) + query + f"#{spec.dom_id}"
    return urls


def _url(viewname: str, endpoint_pk: int, bucket: str, slug: str | None = None) -> str:
    """reverse(viewname, args=[endpoint_pk, bucket(, slug)]): one reverse per view and bucket, not per section."""
    made = _url_maker(viewname, endpoint_pk, bucket, slug is not None, get_script_prefix(), get_urlconf())
    return made(slug) if slug is not None else made


@functools.lru_cache(maxsize=1024)
def _url_maker(viewname: str, endpoint_pk: int, bucket: str, per_slug: bool, _prefix: str, _urlconf):
    """Keyed by the script prefix and URLconf too: reverse() reads both."""
    if per_slug:
        return rows.url_maker(viewname, endpoint_pk, bucket)
    return reverse(viewname, args=[endpoint_pk, bucket])


_VERBS = (("show", ""), ("edit", "_edit"), ("save", "_save"), ("remove", "_remove"), ("recheck", "_recheck"))


def s3_query(target: Target) -> str:
    return urlencode({"key": target.key, **({"version_id": target.version_id} if target.version_id else {})})


def section_context(spec: Section, target: Target, role: Role, **state: Any) -> dict:
    """What the wrapper template and the section's own partials read, under ``s``."""
    value, error = state.get("value"), state.get("error")
    blocked = spec.blocked(target, value) if error is None and spec.form is not None else ""
    may_edit = role.rank >= spec.edit_role.rank and error is None
    ctx = {
        "spec": spec,
        "target": target,
        "role": role,
        "may_edit": may_edit,
        "may_recheck": role.rank >= spec.edit_role.rank,
        "editable": may_edit and spec.form is not None and not blocked,
        "blocked": blocked if may_edit else "",
        "removable": may_edit and spec.remove is not None and value not in (None, "", [], {}),
        "urls": section_urls(spec, target),
        **state,
    }
    if error is None and state.get("body", "display") == "display":
        ctx.update(spec.present(value))
        ctx["seen"] = sign_seen(normalised(spec.fingerprint(value)))
    return ctx


def render_section(
    request, spec: Section, target: Target, role: Role, body: str = "display", status: int = 200, **state
):
    """The section (``display``, ``form`` or ``step``) for htmx, or inside a page of its own without JavaScript."""
    context = {"s": section_context(spec, target, role, body=body, **state), "endpoint": target.endpoint,
               "bucket": target.bucket, **ACL_VOCABULARY}  # fmt: skip
    if request.htmx:
        html = render(request, f"{WRAPPER}#{body}", context, status=status)
        for slug in state.get("also", ()):
            html.write(_out_of_band(request, section_for(spec.page, slug), target, role))
        return html
    return render(request, "buckets/sections/page.html", {**context, "body": body}, status=status)


def _out_of_band(request, spec: Section, target: Target, role: Role) -> str:
    context = {"s": section_context(spec, target, role, **read_state(spec, target), oob=True)}
    return render(request, f"{WRAPPER}#display", context).content.decode()


def _filled(specs: list[Section], target: Target, role: Role, states: list[dict]) -> list[dict]:
    return [section_context(s, target, role, body="display", **state) for s, state in zip(specs, states, strict=True)]


def filled_sections(page: str, target: Target, role: Role) -> list[dict] | None:
    """Every section of the page, filled, when the endpoint answers all their reads within INLINE_WAIT.

    The bucket page then arrives whole (one request, no second round trip after the browser has run
    its scripts). None otherwise, and for INLINE_PAUSE after a miss on this endpoint (this process
    remembers it): a slow endpoint's page comes at once, its sections through htmx.
    """
    missed = _inline_missed.get(target.endpoint.pk)
    if missed is not None and time.monotonic() - missed < INLINE_PAUSE:
        return None
    specs = list(SECTIONS_OF[page])
    s3.client_for(target.endpoint)  # a process's first page makes the client first: not the endpoint's time
    states = read_states(specs, target, wait=INLINE_WAIT)
    if states is None:
        _inline_missed[target.endpoint.pk] = time.monotonic()
        return None
    return _filled(specs, target, role, states)


def display(request, spec, target, role, status: int = 200, **extra):
    return render_section(request, spec, target, role, "display", status, **read_state(spec, target), **extra)


def form_for(spec: Section, target: Target, value: Any, data=None):
    kwargs = spec.form_kwargs(target)
    if data is not None:
        return spec.form(data, target=target, **kwargs)
    seen = sign_seen(normalised(spec.fingerprint(value)))
    rows = {"rows": spec.rows(value)} if spec.rows else {}
    return spec.form(target=target, initial={**spec.initial(value), "seen": seen}, **kwargs, **rows)


def saved(request, spec, target, role, text: str):
    """After a change: htmx gets the display with what S3 now holds (and the sections it affects); else a redirect."""
    if not request.htmx:
        messages.success(request, text)
        return redirect(section_urls(spec, target)["page"])
    return display(request, spec, target, role, saved=text, also=spec.refreshes)


def change(request, spec: Section, target: Target, role: Role, form, apply, *, verb: str = "put", params=None):
    """Run one change through ``section_change``; a refusal lands in the form (False), success gives True."""

    def guarded(before):
        # What the page shows as not editable is refused on save too (a crafted POST, or a change meanwhile).
        target.saving = True
        if reason := spec.blocked(target, before):
            raise s3.S3Error("NotEditable", reason, status=409)
        apply(before)

    try:
        services.section_change(
            actor=actor(request, role), target=target, action=spec.action(verb), lock=spec.lease, read=spec.read,
            apply=guarded, seen=form.cleaned_data.get("seen"), fingerprint=spec.fingerprint,
            params=params if params is not None else audit_params(form.cleaned_data), feature=spec.slug,
            unsupported_on_write=spec.unsupported_on_write,
        )  # fmt: skip
    except Conflict as exc:
        form.add_error(None, exc.message)
    except locks.Busy as exc:
        form.add_error(None, str(exc))
    except s3.S3Error as exc:
        form.s3_error = exc
        form.add_error(None, object_s3_text(exc))
    return not form.errors


def object_s3_text(exc: s3.S3Error) -> str:
    if exc.code == "PreconditionFailed":
        return "This object changed while it was being saved, so nothing was saved — reload to see the current version."
    return ("Not supported by this endpoint: " if exc.not_supported else "") + exc.user_message


def audit_params(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in {"seen", "original_id"}}


# --- the views -------------------------------------------------------------------------------------------
@require_GET
def section_show(request, endpoint_pk: int, bucket: str, slug: str, page: str):
    spec, target, role = section_scope(request, endpoint_pk, bucket, page, slug, write=False)
    return display(request, spec, target, role)


@require_GET
def sections_all(request, endpoint_pk: int, bucket: str, page: str):
    """Every section of the bucket page in one answer, their S3 reads made at the same time.

    The page asks for this once instead of once per section (twelve requests queue on the server's
    workers); each section it returns keeps its own URLs for inline editing.
    """
    specs = list(SECTIONS_OF[page])
    spec, target, role = section_scope(request, endpoint_pk, bucket, page, specs[0].slug, write=False)
    if not request.htmx:
        return redirect("bucket_detail", target.endpoint.pk, target.bucket)
    sections = _filled(specs, target, role, read_states(specs, target))
    context = {"sections": sections, "endpoint": target.endpoint, "bucket": target.bucket, **ACL_VOCABULARY}
    return render(request, "buckets/sections/all.html", context)


@require_GET
def section_edit(request, endpoint_pk: int, bucket: str, slug: str, page: str):
    spec, target, role = section_scope(request, endpoint_pk, bucket, page, slug, write=True, needs="form")
    state = read_state(spec, target)
    if "error" in state or spec.blocked(target, state["value"]):
        return render_section(request, spec, target, role, **state)
    form = form_for(spec, target, state["value"])
    return render_section(request, spec, target, role, "form", form=form)


@require_POST
def section_save(request, endpoint_pk: int, bucket: str, slug: str, page: str):
    spec, target, role = section_scope(request, endpoint_pk, bucket, page, slug, write=True, needs="write")
    form = form_for(spec, target, None, request.POST)
    if form.is_valid():
        authorize(request, spec, target, form.cleaned_data)
        if change(request, spec, target, role, form, lambda before: spec.write(target, form.cleaned_data, before)):
            return saved(request, spec, target, role, f"{spec.title} saved.")
    if getattr(form, "s3_error", None) is not None and form.s3_error.not_supported:
        return display(request, spec, target, role)
    return render_section(request, spec, target, role, "form", 422, form=form)


@require_POST
def section_remove(request, endpoint_pk: int, bucket: str, slug: str, page: str):
    spec, target, role = section_scope(request, endpoint_pk, bucket, page, slug, write=True, needs="remove")
    confirm = SeenOnly(request.POST.get("seen", ""))
    remove = lambda before: spec.remove(target, before)  # noqa: E731
    if not confirm.errors and change(request, spec, target, role, confirm, remove, verb="delete", params={}):
        return saved(request, spec, target, role, f"{spec.title}: removed.")
    return display(request, spec, target, role, notice=" ".join(confirm.errors))


@require_POST
def section_recheck(request, endpoint_pk: int, bucket: str, slug: str, page: str):
    """ "Check again": forget that the endpoint does not support this section, and read it anew."""
    spec, target, role = section_scope(request, endpoint_pk, bucket, page, slug, write=True)
    services.unsupported_recheck(actor=actor(request, role), endpoint=target.endpoint, feature=spec.slug)
    return display(request, spec, target, role)


def authorize(request, spec: Section, target: Target, data: dict) -> None:
    """Rules beyond the section's role: opening an object to everyone is an admin's decision.

    A public canned ACL, or a grant to AllUsers/AuthenticatedUsers the object does not hold yet, needs
    admin on the key; an operator may keep (or drop) what an admin granted.
    """
    if (spec.page, spec.slug) != ("object", "acl"):
        return
    role = access.effective_role(request.user, endpoint=target.endpoint, bucket=target.bucket, key=target.key)
    if role is not None and role.can_admin:
        return
    try:
        before = spec.read(target)
    except s3.S3Error:
        before = None
    if object_services.publishes(data, before):
        access.require_role(
            request, Role.ADMIN, action=spec.action(), endpoint=target.endpoint, bucket=target.bucket, key=target.key
        )


class SeenOnly:
    """The parts of a form ``change`` uses, for a button that posts only ``seen`` (remove, delete a rule)."""

    def __init__(self, token: str):
        self.errors: list[str] = []
        try:
            seen = read_seen(token) if token else None
        except signing.BadSignature:
            seen = None
            self.errors.append("This page is too old to remove anything from: reload it.")
        self.cleaned_data = {"seen": seen}

    def add_error(self, field, message) -> None:
        self.errors.append(str(message))
