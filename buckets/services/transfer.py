"""Copy, move, rename and delete of objects, selections and prefixes: the services the views call.

One object and small selections (up to ``INLINE_LIMIT`` keys) run inside the request, each object
audited on its own; prefixes and bigger selections start a background job (``*_start``; the work is
in ``transfer_jobs``). Everything stays on one endpoint: copies are server-side, a move deletes its
source only after its copy landed, and a success is only reported for what S3 really holds afterwards
(the destination exists as typed, the deleted key is gone).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from buckets import jobs, s3, tasks, vocabulary
from buckets.models import Job
from buckets.services import copying, reads
from buckets.services.prefixes import delete_keys, key_exists, measure_selection
from catalog.services import follow  # the bucket index follows the changes below (catalog app)
from console import audit
from console.models import Endpoint

INLINE_LIMIT = 50  # selections up to this many keys run inside the request; bigger ones as a job
AUDIT_KEYS_KEPT = jobs.AUDIT_KEYS_KEPT
OPS = {"copy": "Copy", "move": "Move", "rename": "Rename"}


class TransferError(Exception):
    """A refusal before anything changed; the message is for the page."""


class DestinationExists(TransferError):
    pass


# --- naming -------------------------------------------------------------------------
def name_of(key: str) -> str:
    """The last segment of a key, keeping a trailing "/" (``a/b/`` → ``b/``)."""
    stripped = key.rstrip("/")
    return stripped.rsplit("/", 1)[-1] + key[len(stripped) :]


def destination_key(key: str, source_prefix: str, dest_prefix: str) -> str:
    """Where ``key`` lands: its part below ``source_prefix`` appended to ``dest_prefix``."""
    rest = key[len(source_prefix) :] if source_prefix and key.startswith(source_prefix) else name_of(key)
    return dest_prefix + rest


def object_destination(source_key: str, dest: str) -> str:
    """A destination typed for one object: ending in "/" means "into that folder, same name"."""
    return dest + name_of(source_key) if dest.endswith("/") else dest


def check_prefix_target(source_bucket: str, source_prefix: str, dest_bucket: str, dest_prefix: str) -> None:
    if source_bucket == dest_bucket and dest_prefix == source_prefix:
        raise TransferError("The destination is the source itself.")
    if source_bucket == dest_bucket and dest_prefix.startswith(source_prefix):
        raise TransferError(f"“{dest_prefix}” is inside “{source_prefix}”: a folder cannot be copied into itself.")


def key_refusal(key: str, *, source_key: str, rewrites: bool) -> str:
    """Why the console would not write ``key`` (a copy of ``source_key``): the rules uploads follow too."""
    if key.endswith("/") and not source_key.endswith("/"):
        # A key ending in "/" is a folder marker; some servers (SeaweedFS) keep it empty, losing the data.
        return f"“{key}” ends with “/”, which names a folder: give the object a name."
    errors = vocabulary.key_errors(key, what="The destination key", rewrites=rewrites, folder=source_key.endswith("/"))
    return " ".join(errors)


NOT_AS_TYPED = (
    "The copy was answered OK, but “{key}” is not in {bucket} afterwards: the endpoint may keep it under another name."
)


NOT_MOVED = "Copied to the destination, but the source was not deleted"


# --- one object (inline) ------------------------------------------------------------------
def object_copy(
    *,
    actor: audit.Actor,
    endpoint: Endpoint,
    source_bucket: str,
    source_key: str,
    bucket: str,
    key: str,
    overwrite: bool = False,
) -> dict:
    """Copy one object server-side; audited as ``object.copy``. Returns {etag, size, method}."""
    return _transfer_one(actor, endpoint, source_bucket, source_key, bucket, key, move=False, overwrite=overwrite)


def object_move(
    *,
    actor: audit.Actor,
    endpoint: Endpoint,
    source_bucket: str,
    source_key: str,
    bucket: str,
    key: str,
    overwrite: bool = False,
    rename: bool = False,
) -> dict:
    """Copy one object, then delete the source once the copy is there; audited as ``object.move``."""
    return _transfer_one(
        actor, endpoint, source_bucket, source_key, bucket, key, move=True, overwrite=overwrite, rename=rename
    )


def _transfer_one(actor, endpoint, source_bucket, source_key, bucket, key, *, move, overwrite, rename=False) -> dict:
    if (source_bucket, source_key) == (bucket, key):
        raise TransferError("The destination is the object itself.")
    rewrites = reads.rewrites_keys(endpoint=endpoint, bucket=bucket)
    if refusal := key_refusal(key, source_key=source_key, rewrites=rewrites):
        raise TransferError(refusal)
    if not overwrite and key_exists(endpoint=endpoint, bucket=bucket, key=key):
        raise DestinationExists(f"“{key}” already exists in {bucket}. Tick “overwrite” to replace it.")
    params = {
        "source": {"bucket": source_bucket, "key": source_key},
        "destination": {"bucket": bucket, "key": key},
        "overwrite": overwrite,
    }
    if rename:
        params["rename"] = True
    action = "object.move" if move else "object.copy"
    with audit.change(actor, action, endpoint=endpoint, bucket=source_bucket, key=source_key, params=params) as ev:
        result = copying.copy_any_size(
            endpoint=endpoint, source_bucket=source_bucket, source_key=source_key, bucket=bucket, key=key
        )
        if not key_exists(endpoint=endpoint, bucket=bucket, key=key):
            raise s3.S3Error("NotStoredAsTyped", NOT_AS_TYPED.format(key=key, bucket=bucket))
        if move:
            _delete_one(endpoint, source_bucket, source_key, context=NOT_MOVED)
        ev.after = result
        follow.object_copied(  # the bucket index (catalog) follows the copy or move
            endpoint=endpoint, source_bucket=source_bucket, source_key=source_key, bucket=bucket, key=key,
            size=result["size"], etag=result["etag"], move=move,
        )  # fmt: skip
    return result


def _delete_one(endpoint: Endpoint, bucket: str, key: str, context: str = "") -> dict:
    """DeleteObject of one key (not DeleteObjects, whose report some servers get wrong), then check it is gone."""
    answer = s3.delete_object(endpoint=endpoint, bucket=bucket, key=key)
    if key_exists(endpoint=endpoint, bucket=bucket, key=key):
        message = "The endpoint answered that it deleted the object, but it is still there."
        raise s3.S3Error("NotDeleted", f"{context}: {message}" if context else message)
    return answer


def object_delete(*, actor: audit.Actor, endpoint: Endpoint, bucket: str, key: str) -> int:
    """Delete one key; audited as ``object.delete``. Returns 1, or 0 when there was nothing to delete."""
    params = {"count": 1, "keys": [key]}
    with audit.change(actor, "object.delete", endpoint=endpoint, bucket=bucket, key=key, params=params) as ev:
        if not key_exists(endpoint=endpoint, bucket=bucket, key=key):
            ev.after = {"deleted": 0, "not_found": [key]}  # and no delete marker added on a versioned bucket
            return 0
        answer = _delete_one(endpoint, bucket, key)
        ev.after = {"deleted": 1, **answer}
        follow.objects_removed(endpoint=endpoint, bucket=bucket, keys=[key])  # the bucket index (catalog)
    return 1


# --- a small selection (inline) ------------------------------------------------------------------
@dataclass
class Outcome:
    done: int = 0
    bytes: int = 0
    errors: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # selected keys that were not there


def objects_copy(*, actor, endpoint, source_bucket, keys, base_prefix, bucket, dest_prefix, overwrite) -> Outcome:
    """A small selection, key by key, each audited on its own (``object.copy``); refusals are collected."""
    return _transfer_selection(actor, endpoint, source_bucket, keys, base_prefix, bucket, dest_prefix, overwrite, False)


def objects_move(*, actor, endpoint, source_bucket, keys, base_prefix, bucket, dest_prefix, overwrite) -> Outcome:
    return _transfer_selection(actor, endpoint, source_bucket, keys, base_prefix, bucket, dest_prefix, overwrite, True)


def _transfer_selection(actor, endpoint, source_bucket, keys, base_prefix, bucket, dest_prefix, overwrite, move):
    outcome = Outcome()
    transfer = object_move if move else object_copy
    for key in keys:
        target = destination_key(key, base_prefix, dest_prefix)
        try:
            result = transfer(
                actor=actor,
                endpoint=endpoint,
                source_bucket=source_bucket,
                source_key=key,
                bucket=bucket,
                key=target,
                overwrite=overwrite,
            )
        except TransferError as exc:
            outcome.errors.append({"key": key, "code": "Refused", "message": str(exc)})
        except s3.S3Error as exc:
            outcome.errors.append({"key": key, "code": exc.code, "message": exc.user_message})
        else:
            outcome.done += 1
            outcome.bytes += result["size"] or 0
    return outcome


def objects_delete(*, actor: audit.Actor, endpoint: Endpoint, bucket: str, keys: list[str]) -> Outcome:
    """Delete a small selection: what is there (listed first), in batches; audited as one ``object.delete``."""
    params = {"count": len(keys), "keys": keys[:AUDIT_KEYS_KEPT]}
    key = keys[0] if len(keys) == 1 else ""
    with audit.change(actor, "object.delete", endpoint=endpoint, bucket=bucket, key=key, params=params) as ev:
        missing = set(measure_selection(endpoint, bucket, keys).missing) if len(keys) > 1 else set()
        present = [k for k in keys if k not in missing]
        errors = delete_keys(endpoint=endpoint, bucket=bucket, keys=present)
        if errors and len(errors) == len(present):
            first = errors[0]
            raise s3.S3Error(first["code"] or "DeleteFailed", first["message"])
        deleted = len(present) - len(errors)
        refused = {e["key"] for e in errors}
        follow.objects_removed(endpoint=endpoint, bucket=bucket, keys=[k for k in present if k not in refused])
        not_found = sorted(missing)[:AUDIT_KEYS_KEPT]
        ev.after = {"deleted": deleted, "failed": errors[:AUDIT_KEYS_KEPT], "not_found": not_found}
    return Outcome(done=deleted, errors=errors, missing=sorted(missing))


# --- background jobs ------------------------------------------------------------------------------
def _transfer_params(op, source_bucket, source_prefix, bucket, dest_prefix, overwrite, keys=None) -> dict:
    """What a transfer job needs (JSON-safe). With ``keys``, a selection below ``source_prefix``."""
    params = {
        "op": op,
        "source_bucket": source_bucket,
        "source_prefix": source_prefix,
        "dest_bucket": bucket,
        "dest_prefix": dest_prefix,
        "overwrite": overwrite,
    }
    if keys is not None:
        params["keys"] = keys
    return params


def _selection_job(op, *, actor, endpoint, source_bucket, keys, base_prefix, bucket, dest_prefix, overwrite) -> Job:
    params = _transfer_params(op, source_bucket, base_prefix, bucket, dest_prefix, overwrite, keys)
    title = f"{OPS[op]} {len(keys)} objects from {source_bucket} to {bucket}/{dest_prefix}"
    return jobs.start(
        tasks.objects_transfer,
        kind=f"object.{op}",
        title=title,
        actor=actor,
        endpoint=endpoint,
        bucket=source_bucket,
        prefix=base_prefix,
        params=params,
        total=len(keys),
    )


def objects_copy_start(**kwargs) -> Job:
    """Copy a big selection as a background job (same arguments as :func:`objects_copy`)."""
    return _selection_job("copy", **kwargs)


def objects_move_start(**kwargs) -> Job:
    return _selection_job("move", **kwargs)


def objects_delete_start(*, actor: audit.Actor, endpoint: Endpoint, bucket: str, keys: list[str], prefix: str) -> Job:
    params = {"bucket": bucket, "prefix": prefix, "keys": keys}
    return jobs.start(
        tasks.objects_delete,
        kind="object.delete",
        title=f"Delete {len(keys)} objects from {bucket}",
        actor=actor,
        endpoint=endpoint,
        bucket=bucket,
        prefix=prefix,
        params=params,
        total=len(keys),
    )


def _prefix_job(op, *, actor, endpoint, source_bucket, source_prefix, bucket, dest_prefix, overwrite=False) -> Job:
    check_prefix_target(source_bucket, source_prefix, bucket, dest_prefix)
    params = _transfer_params(
        "move" if op == "rename" else op, source_bucket, source_prefix, bucket, dest_prefix, overwrite
    )
    title = f"{OPS[op]} {source_bucket}/{source_prefix} to {bucket}/{dest_prefix}"
    kind = "prefix.copy" if op == "copy" else "prefix.move"
    return jobs.start(
        tasks.objects_transfer,
        kind=kind,
        title=title,
        actor=actor,
        endpoint=endpoint,
        bucket=source_bucket,
        prefix=source_prefix,
        params=params,
    )


def prefix_copy_start(**kwargs) -> Job:
    """Copy a folder to another folder or bucket as a background job; refuses a copy into itself."""
    return _prefix_job("copy", **kwargs)


def prefix_move_start(**kwargs) -> Job:
    return _prefix_job("move", **kwargs)


def prefix_rename_start(**kwargs) -> Job:
    """Move a folder to another name in its bucket (existing keys there are not overwritten)."""
    return _prefix_job("rename", **kwargs)


def prefix_delete_start(*, actor: audit.Actor, endpoint: Endpoint, bucket: str, prefix: str) -> Job:
    if not prefix.endswith("/"):
        raise TransferError("A folder delete needs a prefix ending with “/”.")
    return jobs.start(
        tasks.objects_delete,
        kind="prefix.delete",
        title=f"Delete {bucket}/{prefix}",
        actor=actor,
        endpoint=endpoint,
        bucket=bucket,
        prefix=prefix,
        params={"bucket": bucket, "prefix": prefix},
    )
