"""Edits of the console's own records that two admins may make at once: endpoints, alert rules, destinations.

The edit form carries the record as it was opened (``seen``: signed, hidden). The save reads the row again
under a row lock (``select_for_update`` inside the save's transaction: PostgreSQL waits for the other save;
SQLite's write transactions run one at a time) and compares: when someone else saved it in between, nothing
is saved and the form says what changed, keeping what this admin typed; its ``seen`` is then the new state,
so a second Save saves over it knowingly. A form posted without ``seen`` (a script) is not compared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django import forms
from django.core import signing

from buckets.services.sections import describe_changes, normalised
from console import audit

SALT = "console.record.seen"
T = TypeVar("T")
SECRETS = "stored URL or secret"  # the state's key for a digest of the encrypted fields (never shown)


class ChangedMeanwhile(Exception):
    """The record changed since the form was opened; the message says what."""

    def __init__(self, lines: list[str], now: dict):
        self.now = now
        super().__init__(
            "Someone else saved this since you opened it, so nothing was saved. What changed: "
            + "; ".join(lines)
            + ". Your values are still in the form: check them and save again to keep them."
        )


def state(snapshot: dict, *encrypted: str, labels: dict[str, str] | None = None) -> dict:
    """What is compared: the snapshot under the names the form shows (``labels``, else "Field name"), and a
    digest of the encrypted fields (a replaced secret)."""
    labels = labels or {}
    out = normalised({labels.get(k) or k.replace("_", " ").capitalize(): v for k, v in snapshot.items()})
    if encrypted:
        out[SECRETS] = hashlib.sha256("\x00".join(encrypted).encode()).hexdigest()[:16]
    return out


ENDPOINT_LABELS = {"url": "Endpoint URL", "verify_tls": "Verify TLS certificates"}


def endpoint_state(endpoint) -> dict:
    """What an endpoint's edit form shows, and whether its secret key was replaced."""
    shown = {name: getattr(endpoint, name) for name in endpoint.EDITED}
    return state(shown, endpoint.secret_access_key_encrypted, labels=ENDPOINT_LABELS)


def locked_unchanged(model, pk: int, seen: str, state_of: Callable[[Any], dict]):
    """The stored row, locked until the save's transaction ends, after ``check_unchanged`` against it."""
    stored = model.objects.select_for_update().get(pk=pk)
    check_unchanged(seen, state_of(stored))
    return stored


def seen_token(now: dict) -> str:
    return signing.dumps(now, salt=SALT, compress=True)


def check_unchanged(token: str, now: dict) -> None:
    """Raise ChangedMeanwhile unless ``now`` is the state the form (``token``) was opened on."""
    if not token:
        return
    try:
        seen = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise ChangedMeanwhile(["the form is too old or was altered"], now) from None
    if seen == now:
        return
    lines = describe_changes(_without_secrets(seen), _without_secrets(now))
    if seen.get(SECRETS) != now.get(SECRETS):
        lines = [line for line in lines if line != "it was rewritten with the same values"]
        lines.append(f"the {SECRETS} was replaced")
    raise ChangedMeanwhile(lines, now)


def _without_secrets(value: Any) -> Any:
    return {k: v for k, v in value.items() if k != SECRETS} if isinstance(value, dict) else value


class SeenField(forms.CharField):
    """The hidden field of an edit form that carries ``seen_token``."""

    def __init__(self, **kwargs):
        super().__init__(required=False, widget=forms.HiddenInput, **kwargs)


def save_unless_changed(form: forms.BaseForm, save: Callable[[], T]) -> T | None:
    """``save()``; None when it was refused because the record changed meanwhile (the form then says so)."""
    try:
        return save()
    except ChangedMeanwhile as exc:
        refused(form, exc)
        return None


def refused(form: forms.BaseForm, error: ChangedMeanwhile) -> None:
    """Show the refusal on the form, and make its ``seen`` the state now (the next Save saves over it)."""
    form.add_error(None, str(error))
    data = form.data.copy()
    data["seen"] = seen_token(error.now)
    form.data = data


@contextmanager
def refusal_audited(actor: audit.Actor, action: str, **where) -> Iterator[None]:
    """Around the save's transaction: a refused save is audited as failed (after the rollback, so it stays)."""
    try:
        yield
    except ChangedMeanwhile as exc:
        audit.record(actor, action, outcome="failed", error_code="Conflict", error_message=str(exc), **where)
        raise
