"""The upload panel and the JSON endpoints its script (static/console/upload/, ES modules) calls.

Every endpoint checks the operator role for the exact key, and every request after the start carries
the signed grant of an upload this user started on this endpoint and bucket. Every answer of the JSON
endpoints is JSON, errors included: {"error": text} with a fitting status (400, 403, 404, 413, 422, 502…).
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from buckets import s3, vocabulary
from buckets.forms.upload import ENCRYPTIONS, UploadStartForm
from buckets.services import reads
from buckets.services import uploads as upload
from buckets.views.common import actor, endpoint_or_404
from console import access, audit, safejson
from console.errors import NotFound
from console.models import Endpoint, Role

MAX_JSON_BYTES = 256 * 1024  # a request of the upload flow: 10,000 part ETags fit well below this
READ_CHUNK = 1024 * 1024
PANEL = "buckets/objects/_upload_panel.html#upload-panel"


def json_errors(view):
    """Answer the script in JSON whatever goes wrong: {"error": text} with a fitting status."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except upload.UploadRefused as exc:
            return JsonResponse({"error": exc.message}, status=exc.status)
        except safejson.JSONRefused as exc:
            return JsonResponse({"error": exc.message}, status=exc.status)
        except RequestDataTooBig:
            return JsonResponse({"error": "The request is too large."}, status=413)
        except PermissionDenied as exc:
            return JsonResponse({"error": str(exc) or "You are not allowed to do this."}, status=403)
        except Http404:
            return JsonResponse({"error": "Not found, or not visible to you."}, status=404)
        except s3.S3Error as exc:
            return JsonResponse({"error": exc.user_message, "code": exc.code}, status=504 if exc.timed_out else 502)

    return wrapper


def _json_body(request) -> dict:
    data = safejson.loads(request.body or b"{}", max_bytes=MAX_JSON_BYTES, what="The request")
    if not isinstance(data, dict):
        raise upload.UploadRefused("The request must be a JSON object.")
    return data


def _visible_endpoint(request, endpoint_pk: int, bucket: str) -> Endpoint:
    """Scope first: someone who cannot see the endpoint/bucket gets 404, whatever the body or token says."""
    endpoint = endpoint_or_404(endpoint_pk)
    if not access.can_see(request.user, endpoint=endpoint, bucket=bucket):
        raise NotFound("No such bucket or endpoint.")
    return endpoint


def _granted(request, endpoint: Endpoint, bucket: str, token) -> tuple[upload.Grant, Role]:
    """The grant of an upload this user started here, and the user's (still) operator role on its key."""
    grant = upload.Grant.loads(token if isinstance(token, str) else "")
    if (grant.user_id, grant.endpoint_id, grant.bucket) != (request.user.pk, endpoint.pk, bucket):
        role = access.effective_role(request.user, endpoint=endpoint, bucket=bucket, key=grant.key)
        audit.denied(
            audit.Actor.from_request(request, role or ""), "object.upload", endpoint=endpoint, bucket=bucket,
            key=grant.key, params={"reason": "upload started by another user or for another bucket"},
        )  # fmt: skip
        raise PermissionDenied("This upload was not started by you in this bucket.")
    role = access.require_role(
        request, Role.OPERATOR, action="object.upload", endpoint=endpoint, bucket=bucket, key=grant.key
    )
    return grant, role


def _upload_of(request, endpoint_pk: int, bucket: str, *, body: bool) -> tuple[Endpoint, dict, upload.Grant, Role]:
    """The endpoint, the JSON body (``body``: the token is in it; else in the X-Upload-Token header), the
    upload's grant and the user's role on its key: each step in the order that decides the answer."""
    endpoint = _visible_endpoint(request, endpoint_pk, bucket)
    data = _json_body(request) if body else {}
    token = data.get("token", "") if body else request.headers.get("X-Upload-Token", "")
    grant, role = _granted(request, endpoint, bucket, token)
    return endpoint, data, grant, role


def _panel_context(request, endpoint: Endpoint, bucket: str, prefix: str) -> dict:
    role = access.effective_role(request.user, endpoint=endpoint, bucket=bucket, key=prefix)
    if role is None and not access.can_see(request.user, endpoint=endpoint, bucket=bucket):
        raise NotFound("No such bucket or endpoint.")
    can_upload = bool(role and role.can_write)
    bucket_role = access.effective_role(request.user, endpoint=endpoint, bucket=bucket)
    origin = upload.console_origin(request)
    return {
        "endpoint": endpoint,
        "bucket_name": bucket,
        "prefix": prefix,
        "can_upload": can_upload,
        "can_allow_cors": bool(bucket_role and bucket_role.can_admin),
        "cors": upload.cors_state(endpoint=endpoint, bucket=bucket, origin=origin) if can_upload else None,
        "object_lock": can_upload and reads.default_retention(endpoint=endpoint, bucket=bucket),
        "storage_classes": [("", "Bucket default"), *vocabulary.storage_classes(endpoint.accepted_storage_classes)],
        "encryptions": ENCRYPTIONS,
        "part_size": upload.MIN_PART_SIZE,
        "upload_vocabulary": vocabulary.browser_vocabulary(),
    }


@require_GET
def upload_panel(request, endpoint_pk: int, bucket: str):
    endpoint = endpoint_or_404(endpoint_pk)
    return render(request, PANEL, _panel_context(request, endpoint, bucket, request.GET.get("prefix", "")))


@require_POST
def upload_cors_allow(request, endpoint_pk: int, bucket: str):
    endpoint = endpoint_or_404(endpoint_pk)
    role = access.require_role(request, Role.ADMIN, action="bucket.cors.put", endpoint=endpoint, bucket=bucket)
    prefix, context = request.POST.get("prefix", ""), {}
    try:
        upload.upload_cors_allow(
            actor=actor(request, role), endpoint=endpoint, bucket=bucket, origin=upload.console_origin(request)
        )
    except (s3.S3Error, upload.UploadRefused) as exc:
        context["cors_error"] = getattr(exc, "user_message", None) or exc.message
    if not request.htmx:
        return redirect(f"{reverse('object_list', args=[endpoint.pk, bucket])}?{urlencode({'prefix': prefix})}")
    return render(request, PANEL, context | _panel_context(request, endpoint, bucket, prefix))


@require_POST
@json_errors
def upload_start(request, endpoint_pk: int, bucket: str):
    endpoint = endpoint_or_404(endpoint_pk)
    data = _json_body(request)
    key = data.get("key") if isinstance(data.get("key"), str) else ""
    role = access.require_role(
        request, Role.OPERATOR, action="object.upload", endpoint=endpoint, bucket=bucket, key=key
    )
    form = UploadStartForm(data, accepted_classes=endpoint.accepted_storage_classes)
    # Checked without an S3 call first; the endpoint's own key rules (it may rewrite some keys) after.
    if form.is_valid() and reads.rewrites_keys(endpoint=endpoint, bucket=bucket):
        form = UploadStartForm(data, accepted_classes=endpoint.accepted_storage_classes, rewrites=True)
    if not form.is_valid():
        return JsonResponse({"error": form.first_error(), "errors": form.errors}, status=422)
    return JsonResponse(upload.upload_start(actor=actor(request, role), endpoint=endpoint, bucket=bucket, form=form))


@require_POST
@json_errors
def upload_part_urls(request, endpoint_pk: int, bucket: str):
    endpoint, data, grant, _ = _upload_of(request, endpoint_pk, bucket, body=True)
    numbers = data.get("parts")
    if not isinstance(numbers, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        raise upload.UploadRefused("Give the part numbers as a list of integers.")
    return JsonResponse({"urls": upload.upload_part_urls(endpoint=endpoint, grant=grant, numbers=numbers)})


def _read_exactly(request, expected: int) -> bytearray:
    """The raw body, which must be exactly `expected` bytes (checked before reading anything).

    Read from the request stream rather than request.body, so DATA_UPLOAD_MAX_MEMORY_SIZE stays
    small for every other view and this one never holds more than the one part it was promised.
    """
    if request.content_type != "application/octet-stream":
        raise upload.UploadRefused("Send the part as application/octet-stream.", 415)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length != expected:
        raise upload.UploadRefused(f"This part must be exactly {expected} bytes, not {max(length, 0)}.", 413)
    # Into one buffer of the part's size, 1 MiB at a time: no second copy of the part while it arrives.
    body, got = bytearray(expected), 0
    view = memoryview(body)
    while got < expected:
        chunk = request.read(min(READ_CHUNK, expected - got))
        if not chunk:
            raise upload.UploadRefused("The part arrived incomplete; it will be sent again.", 400)
        view[got : got + len(chunk)] = chunk
        got += len(chunk)
    view.release()
    return body


def _part_number(request) -> int:
    try:
        return int(request.GET.get("part", ""))
    except ValueError:
        raise upload.UploadRefused("Which part? Give ?part=<number>.")


@require_POST
@json_errors
def upload_part(request, endpoint_pk: int, bucket: str):
    endpoint, _, grant, role = _upload_of(request, endpoint_pk, bucket, body=False)
    number = _part_number(request)
    body = _read_exactly(request, grant.part_length(number))
    etag = upload.upload_part_send(endpoint=endpoint, grant=grant, number=number, body=body)
    return JsonResponse({"part": number, "etag": etag})


@require_POST
@json_errors
def upload_put(request, endpoint_pk: int, bucket: str):
    endpoint, _, grant, role = _upload_of(request, endpoint_pk, bucket, body=False)
    body = _read_exactly(request, grant.part_length(1))
    return JsonResponse(
        {"object": upload.upload_put(actor=actor(request, role), endpoint=endpoint, grant=grant, body=body)}
    )


@require_POST
@json_errors
def upload_complete(request, endpoint_pk: int, bucket: str):
    endpoint, data, grant, role = _upload_of(request, endpoint_pk, bucket, body=True)
    method = data.get("method") if data.get("method") in {"direct", "fallback", "mixed"} else "direct"
    info = upload.upload_complete(
        actor=actor(request, role), endpoint=endpoint, grant=grant, parts=data.get("parts"), method=method
    )
    return JsonResponse({"object": info})


@require_POST
@json_errors
def upload_abort(request, endpoint_pk: int, bucket: str):
    endpoint, _, grant, role = _upload_of(request, endpoint_pk, bucket, body=True)
    upload.upload_abort(actor=actor(request, role), endpoint=endpoint, grant=grant)
    return HttpResponse(status=204)
