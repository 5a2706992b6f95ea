"""Changes to one object: its sections (metadata, tags, ACL, storage class), share links, versions,
and incomplete multipart uploads. Each public function is one audited change.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from buckets import locks, s3, vocabulary
from buckets.services import copying, prefixes, reads
from buckets.services.sections import Target
from catalog.services import follow  # the bucket index follows the changes below (catalog app)
from console import audit


# --- readers of the object sections (what each form shows) ----------------------------------------
def read_head(target: Target) -> dict:
    head = target.head()
    if head is None:
        raise s3.S3Error("NoSuchKey", "The object does not exist (any more).", status=404)
    return head


def metadata_state(head: dict) -> dict:
    return {"headers": head["headers"], "metadata": head["metadata"], "etag": head["etag"]}


def storage_state(head: dict) -> dict:
    return {"storage_class": head["storage_class"], "etag": head["etag"]}


def read_tags(target: Target) -> list[dict]:
    return s3.get_object_tags(endpoint=target.endpoint, bucket=target.bucket, key=target.key)


def read_acl(target: Target) -> dict:
    return s3.get_object_acl(endpoint=target.endpoint, bucket=target.bucket, key=target.key)


# --- writers --------------------------------------------------------------------------------------
def write_metadata(target: Target, data: dict, before: dict) -> None:
    """CopyObject onto the key with new metadata and headers, conditioned on the ETag read under the lease."""
    copying.copy_onto_itself(
        endpoint=target.endpoint, bucket=target.bucket, key=target.key, head=before,
        metadata=data["metadata"], headers=data["headers"],
    )  # fmt: skip
    follow.object_stored(  # the index: same size and class, a new modification time
        endpoint=target.endpoint, bucket=target.bucket, key=target.key, size=before["size"],
        storage_class=before["storage_class"],
    )  # fmt: skip


def write_storage_class(target: Target, data: dict, before: dict) -> None:
    copying.copy_onto_itself(
        endpoint=target.endpoint, bucket=target.bucket, key=target.key, head=before, storage_class=data["storage_class"]
    )
    follow.object_reclassed(  # the index's storage-class sums move with it
        endpoint=target.endpoint, bucket=target.bucket, key=target.key, storage_class=data["storage_class"]
    )


def write_tags(target: Target, data: dict, before: Any) -> None:
    tags = [{"key": k, "value": v} for k, v in data["tags"]]
    s3.put_object_tags(endpoint=target.endpoint, bucket=target.bucket, key=target.key, tags=tags)


def write_acl(target: Target, data: dict, before: dict) -> None:
    s3.put_object_acl(
        endpoint=target.endpoint, bucket=target.bucket, key=target.key, canned=data["canned"],
        grants=data["grants"], owner_id=before["owner"]["id"],
    )  # fmt: skip


def publishes(data: dict, before: dict | None) -> bool:
    """The ACL change opens the object to the public: a public canned ACL, or a public grant it lacks."""
    held = vocabulary.public_grants(before["grants"]) if before else set()
    return data["canned"] in vocabulary.PUBLIC_CANNED_ACLS or bool(vocabulary.public_grants(data["grants"]) - held)


# --- share links ---------------------------------------------------------------------------------
def share_seconds(target: Target, wanted: int) -> tuple[int, str]:
    """The link's life: what was asked, cut to what the endpoint's credentials have left (with the reason)."""
    life = s3.credentials_lifetime(endpoint=target.endpoint)
    if life["expires_at"] is not None:
        left = int((life["expires_at"] - timezone.now()).total_seconds())
        if left < wanted:
            return max(left, 0), (
                f"The endpoint signs with temporary credentials that expire at "
                f"{life['expires_at'].astimezone(datetime.UTC):%Y-%m-%d %H:%M} UTC; the link cannot outlive them, "
                "so it is valid only until then."
            )
    elif life["temporary"]:
        return wanted, "The endpoint signs with temporary credentials: the link stops working when they expire."
    return wanted, ""


def object_share_create(*, actor: audit.Actor, target: Target, seconds: int, note: str) -> dict:
    """A presigned GET link, audited like a change (who handed out access to what, until when)."""
    expires_at = timezone.now() + datetime.timedelta(seconds=seconds)
    params = {"expires_in_seconds": seconds, "expires_at": expires_at.isoformat(), "capped": bool(note)}
    with audit.change(
        actor, "object.share", endpoint=target.endpoint, bucket=target.bucket, key=target.key,
        version_id=target.version_id, params=params,
    ):  # fmt: skip
        url = s3.presigned_get_url(
            endpoint=target.endpoint, bucket=target.bucket, key=target.key, version_id=target.version_id,
            expires_in=seconds,
        )  # fmt: skip
    return {"url": url, "expires_at": expires_at, "note": note}


# --- versions --------------------------------------------------------------------------------------
def version_summary(head: dict | None) -> dict | None:
    """A version as the audit trail keeps it (None: the key has no current version)."""
    if head is None:
        return None
    return {"version_id": head["version_id"], "etag": head["etag"], "size": head["size"]}


def _current(target: Target) -> dict | None:
    return s3.head_object(endpoint=target.endpoint, bucket=target.bucket, key=target.key)


def object_version_restore(*, actor: audit.Actor, target: Target, source: dict) -> dict:
    """Copy an older version onto the key: it becomes the current version (the history is kept).

    Under the object's lease: a metadata or storage-class save at the same moment copies the version
    it reads under that lease, so neither undoes the other."""
    try:
        with locks.held(target.endpoint.pk, target.bucket, target.key, locks.OBJECT):
            return _restore(actor, target, source)
    except locks.Busy as exc:
        raise s3.S3Error("Busy", str(exc), status=409) from None


def _restore(actor: audit.Actor, target: Target, source: dict) -> dict:
    with audit.change(
        actor, "object.version.restore", endpoint=target.endpoint, bucket=target.bucket, key=target.key,
        version_id=target.version_id, before={"current": version_summary(_current(target))},
    ) as ev:  # fmt: skip
        copying.copy_onto_itself(
            endpoint=target.endpoint, bucket=target.bucket, key=target.key, head=source,
            source_version_id=target.version_id,
        )  # fmt: skip
        ev.after = {"current": version_summary(_follow_current(target))}
    return ev.after


def _follow_current(target: Target) -> dict | None:
    """The key's current version after a version change, which the bucket index (catalog) follows."""
    current = _current(target)
    if current is None:
        follow.objects_removed(endpoint=target.endpoint, bucket=target.bucket, keys=[target.key])
    else:
        follow.object_stored(
            endpoint=target.endpoint, bucket=target.bucket, key=target.key, size=current["size"],
            etag=current["etag"], storage_class=current["storage_class"], last_modified=current["last_modified"],
        )  # fmt: skip
    return current


class Locked(Exception):
    """Object lock protects the version; ``bypassable`` when governance retention may be bypassed."""

    def __init__(self, message: str, bypassable: bool):
        super().__init__(message)
        self.message, self.bypassable = message, bypassable


def lock_state(version: dict | None) -> Locked | None:
    """Why object lock keeps this version (from its HeadObject), or None when nothing holds it."""
    if version is None:
        return None
    if version["legal_hold"] == "ON":
        return Locked("A legal hold protects this version: it cannot be deleted until the hold is removed.", False)
    until = version["lock_until"]
    if version["lock_mode"] and until and until > timezone.now():
        when = f"{until.astimezone(datetime.UTC):%Y-%m-%d %H:%M} UTC"
        if version["lock_mode"] == "COMPLIANCE":
            return Locked(
                f"Object lock (compliance mode) protects this version until {when}: nobody can delete it.", False
            )
        return Locked(
            f"Object lock (governance mode) protects this version until {when}. An admin of the bucket can "
            "still delete it by bypassing governance retention.",
            True,
        )
    return None


def object_version_delete(*, actor: audit.Actor, target: Target, bypass_governance: bool = False) -> dict:
    """Delete one version (or delete marker) permanently. Object lock is checked first and explained."""
    version = s3.head_object(
        endpoint=target.endpoint, bucket=target.bucket, key=target.key, version_id=target.version_id
    )
    locked = lock_state(version)
    params = {"bypass_governance": bypass_governance}
    with audit.change(
        actor, "object.version.delete", endpoint=target.endpoint, bucket=target.bucket, key=target.key,
        version_id=target.version_id, params=params, before={"current": version_summary(_current(target))},
    ) as ev:  # fmt: skip
        if locked and not (locked.bypassable and bypass_governance):
            raise s3.S3Error("ObjectLocked", locked.message, status=403)
        try:
            s3.delete_object(
                endpoint=target.endpoint, bucket=target.bucket, key=target.key, version_id=target.version_id,
                bypass_governance=bypass_governance and bool(locked),
            )  # fmt: skip
        except s3.S3Error as exc:
            raise _lock_refusal(target, exc) from None
        ev.after = {"current": version_summary(_follow_current(target))}
    return ev.after


def _lock_refusal(target: Target, exc: s3.S3Error) -> s3.S3Error:
    """S3's AccessDenied for a version in an object-lock bucket, said as what it most likely is.

    HeadObject shows a version's retention and legal hold only to credentials allowed to read them
    (s3:GetObjectRetention, s3:GetObjectLegalHold); S3 still refuses to delete it, with AccessDenied."""
    if exc.code != "AccessDenied":
        return exc
    try:
        lock_enabled = reads.object_lock_enabled(endpoint=target.endpoint, bucket=target.bucket)
    except s3.S3Error:
        lock_enabled = False
    if not lock_enabled:
        return exc
    message = (
        "S3 refused to delete this version (AccessDenied). The bucket has object lock: a retention or legal "
        "hold the endpoint's credentials may not read most likely protects it; otherwise the credentials are "
        "not allowed to delete versions."
    )
    return s3.S3Error("ObjectLocked", message, request_id=exc.request_id, status=exc.status)


def object_undelete(*, actor: audit.Actor, target: Target) -> dict:
    """Remove the key's latest delete marker, so its previous version is current again."""
    latest = reads.latest_version(endpoint=target.endpoint, bucket=target.bucket, key=target.key)
    with audit.change(
        actor, "object.undelete", endpoint=target.endpoint, bucket=target.bucket, key=target.key,
        version_id=target.version_id, before={"current": None, "delete_marker": target.version_id},
    ) as ev:  # fmt: skip
        if not latest or not latest["delete_marker"] or latest["version_id"] != target.version_id:
            raise s3.S3Error("NotDeleted", "The key is not deleted (any more): its latest version is not that marker.")
        s3.delete_object(endpoint=target.endpoint, bucket=target.bucket, key=target.key, version_id=target.version_id)
        ev.after = {"current": version_summary(_follow_current(target))}
    return ev.after


# --- incomplete multipart uploads --------------------------------------------------------------------
def multipart_abort(*, actor: audit.Actor, target: Target, upload_id: str) -> None:
    with audit.change(
        actor, "multipart.abort", endpoint=target.endpoint, bucket=target.bucket, key=target.key,
        params={"upload_id": upload_id},
    ):  # fmt: skip
        s3.abort_multipart_upload(endpoint=target.endpoint, bucket=target.bucket, key=target.key, upload_id=upload_id)


def multipart_abort_all(*, actor: audit.Actor, target: Target, allowed: list[str] | None) -> int:
    """Abort every incomplete upload of the bucket (under ``allowed`` prefixes, None: all); returns how many."""
    with audit.change(actor, "multipart.abort_all", endpoint=target.endpoint, bucket=target.bucket) as ev:
        ev.params["count"] = 0
        for page in s3.iter_upload_pages(endpoint=target.endpoint, bucket=target.bucket):
            for upload in page:
                if allowed is not None and not any(upload["key"].startswith(p) for p in allowed):
                    continue
                s3.abort_multipart_upload(
                    endpoint=target.endpoint, bucket=target.bucket, key=upload["key"], upload_id=upload["upload_id"]
                )
                ev.params["count"] += 1
        ev.after = {"aborted": ev.params["count"]}
    return ev.params["count"]


# --- folders -----------------------------------------------------------------------------------------
def folder_create(*, actor: audit.Actor, endpoint, bucket: str, prefix: str) -> bool:
    """Create a folder: a zero-byte object named ``prefix`` (ending in "/"); audited as ``folder.create``.

    Returns whether the endpoint keeps it (a listing shows it): some servers accept the marker and keep
    no empty folder, which then appears only once it holds an object.
    """
    with audit.change(actor, "folder.create", endpoint=endpoint, bucket=bucket, key=prefix) as ev:
        s3.put_object(endpoint=endpoint, bucket=bucket, key=prefix, body=b"")
        kept = prefixes.key_exists(endpoint=endpoint, bucket=bucket, key=prefix)
        ev.after = {"kept": kept}
    return kept
