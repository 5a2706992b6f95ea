"""What every section form shares: the section it edits, the state its user saw, editable rows."""

from __future__ import annotations

from itertools import zip_longest
from typing import Any, NamedTuple

from django import forms
from django.core import signing

SEEN_SALT = "buckets.section.seen"


class Seen(NamedTuple):
    """The state a form was opened on (``state`` may be None: "there was none")."""

    state: Any


def sign_seen(state: Any) -> str:
    """The state a form was opened on, signed, so a save can tell what changed since (and nobody can forge it)."""
    return signing.dumps({"state": state}, salt=SEEN_SALT, compress=True)


def read_seen(token: str) -> Seen:
    data = signing.loads(token, salt=SEEN_SALT)
    if not isinstance(data, dict) or "state" not in data:
        raise signing.BadSignature("not a seen token")
    return Seen(data["state"])


class SectionForm(forms.Form):
    """A form of one section; ``target`` is what it edits (its bucket name, endpoint, key)."""

    seen = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, target=None, **kwargs):
        self.target = target
        super().__init__(*args, **kwargs)

    def clean_seen(self):
        token = self.cleaned_data["seen"]
        if not token:
            return None
        try:
            return read_seen(token)
        except signing.BadSignature:
            # Not the field's error (it is hidden): the form's, shown on top.
            self.add_error(None, "This form is too old or was altered, so nothing was saved: reload the page.")
            return None


def posted_rows(data, *names: str) -> list[tuple[str, ...]]:
    """Repeated inputs (``name=a&name=b``) zipped into rows; rows left entirely blank are dropped."""
    columns = [data.getlist(name) for name in names]
    rows = [tuple(v.strip() for v in row) for row in zip_longest(*columns, fillvalue="")]
    return [row for row in rows if any(row)]


class RowsForm(SectionForm):
    """Editable rows (tags, metadata, grants) posted as repeated inputs named ``row_names``."""

    row_names: tuple[str, ...] = ()

    def __init__(self, data=None, *args, rows: list[tuple[str, ...]] | None = None, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.rows = posted_rows(data, *self.row_names) if data is not None else list(rows or [])


class TypedConfirmForm(forms.Form):
    """The typed confirmation of a destructive action: the user types ``expected`` (a bucket's or a folder's
    name). Subclasses define the ``confirm`` field (its length and stripping) and the ``refusal``."""

    confirm = forms.CharField(strip=False)
    refusal = "That is not the name: nothing was done."

    def __init__(self, *args, expected: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.fields["confirm"].label = f"Type “{expected}” to confirm"
        self.fields["confirm"].widget.attrs.update(
            {"data-confirm-value": expected, "autocomplete": "off", "spellcheck": "false"}
        )

    def clean_confirm(self) -> str:
        if self.cleaned_data["confirm"] != self.expected:
            raise forms.ValidationError(self.refusal)
        return self.expected
