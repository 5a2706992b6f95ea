"""The role form's live preview: the endpoint's known buckets, what the chosen scope covers, and how many
keys its bucket or prefix holds now (a bounded listing).

The form (``user_forms.RoleAssignmentForm``) decides; this only tells the admin what they are about to give.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.shortcuts import render
from django.views.decorators.http import require_GET

from buckets import s3, vocabulary
from buckets.services import prefixes
from console import access
from console.models import Endpoint
from console.user_forms import Scope

PREVIEW_PAGES = 3  # ListObjectsV2 calls at most (3,000 keys), within the page's S3 time budget
KNOWN_SHOWN = 500  # buckets offered in the list; more can still be typed


@dataclass
class ScopePreview:
    scope: str = ""
    endpoint: Endpoint | None = None
    bucket: str = ""
    prefix: str = ""
    known: list[str] = field(default_factory=list)
    known_total: int = 0
    bucket_known: bool = False
    name_error: str = ""
    count: prefixes.Count | None = None
    count_error: str = ""

    @property
    def needs(self) -> tuple[str, ...]:
        return {"endpoint": ("endpoint",), "bucket": ("endpoint", "bucket"), "prefix": ("endpoint", "bucket")}.get(
            self.scope, ()
        )


def preview(*, scope: str, endpoint: Endpoint | None, bucket: str, prefix: str, count: bool) -> ScopePreview:
    """What the form's values cover; with ``count``, the keys under the bucket or prefix (S3 reads)."""
    p = ScopePreview(scope=scope if scope in Scope.values else "", endpoint=endpoint, bucket=bucket, prefix=prefix)
    if endpoint is None:
        return p
    names = endpoint.buckets.order_by("name").values_list("name", flat=True)
    p.known, p.known_total = list(names[:KNOWN_SHOWN]), names.count()
    if "bucket" not in p.needs or not bucket:
        return p
    p.bucket_known = endpoint.buckets.filter(name=bucket).exists()
    errors = [] if p.bucket_known else vocabulary.bucket_name_errors(bucket)
    if errors:
        p.name_error = errors[0]
    elif count and (p.scope == Scope.BUCKET or prefix):
        try:
            p.count = prefixes.count_prefix(endpoint, bucket, prefix if p.scope == Scope.PREFIX else "", PREVIEW_PAGES)
        except s3.S3Error as exc:
            absent = exc.code == "NoSuchBucket"
            p.count_error = f"There is no bucket “{bucket}” on {endpoint.name}." if absent else exc.user_message
    return p


def form_preview(form) -> ScopePreview:
    """The preview of a bound role form that came back with errors (no S3 call), or of an empty one."""
    if not form.is_bound:
        return ScopePreview()
    return _from_values(form.data, count=False)


def _from_values(values, *, count: bool) -> ScopePreview:
    try:
        endpoint = Endpoint.objects.filter(pk=int(values.get("endpoint") or 0)).first()
    except ValueError:
        endpoint = None
    prefix = values.get("prefix", "").lstrip("/")
    if len(prefix.encode()) > 1024:
        prefix = ""
    bucket = values.get("bucket", "").strip()[:63]
    return preview(scope=values.get("scope", ""), endpoint=endpoint, bucket=bucket, prefix=prefix, count=count)


@require_GET
def role_scope_preview(request):
    """The htmx fragment under the role form, asked again as its fields change."""
    access.require_global_admin(request, action="role.scope.preview")
    return render(request, "console/_role_scope.html", {"role_scope": _from_values(request.GET, count=True)})
