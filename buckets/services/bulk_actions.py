"""The actions of bulk jobs, who may apply them to which key, and what each does to one object."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from buckets import locks, s3, vocabulary
from buckets.services import copying
from catalog.services import follow
from console import access
from console.models import Endpoint, Role

RESTORE_TIERS = ("Standard", "Bulk", "Expedited")
HEADERS = {  # the content headers a bulk job sets: S3's name → the HTTP header
    "CacheControl": "Cache-Control",
    "ContentType": "Content-Type",
    "ContentDisposition": "Content-Disposition",
    "ContentEncoding": "Content-Encoding",
    "ContentLanguage": "Content-Language",
    "Expires": "Expires",
}


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    verb: str
    role: Role = Role.OPERATOR
    destructive: bool = False  # asks for a typed confirmation


ACTIONS = {
    a.name: a
    for a in (
        Action("tag", "Set tags", "Tagged"),
        Action("untag", "Remove tags", "Untagged"),
        Action("storage_class", "Change storage class", "Changed the storage class of"),
        Action("header", "Set a content header", "Changed the header of"),
        Action("acl", "Apply a canned ACL", "Applied the ACL to"),
        Action("restore", "Restore archived objects", "Asked S3 to restore"),
        Action("copy", "Copy", "Copied", role=Role.VIEWER),  # and operator on the destination (the view checks)
        Action("move", "Move", "Moved", destructive=True),
        Action("delete", "Delete", "Deleted", destructive=True),
    )
}


def needed_role(action: str, options: dict) -> Role:
    """The role needed on every key: a public canned ACL is an admin's decision (as on the object page)."""
    if action == "acl" and options.get("canned") in vocabulary.PUBLIC_CANNED_ACLS:
        return Role.ADMIN
    return ACTIONS[action].role


# --- who may touch what ---------------------------------------------------------------------------
class Scope:
    """The keys the actor may act on with ``need``: their role on each key, read once from the database."""

    def __init__(self, user_id: int | None, endpoint: Endpoint, bucket: str, need: Role):
        self.user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
        self.endpoint, self.bucket, self.need = endpoint, bucket, need

    def allows(self, key: str) -> bool:
        if self.user is None:
            return False
        role = access.effective_role(self.user, endpoint=self.endpoint, bucket=self.bucket, key=key)
        return role is not None and role.rank >= self.need.rank

    def keep(self, page: list[dict]) -> list[dict]:
        return [entry for entry in page if self.allows(entry["key"])]


# --- what is done to one object -------------------------------------------------------------------
class Unchanged(Exception):
    """Nothing to do for this object (it already is so, or the action does not apply): not counted."""


def applies(action: str, options: dict, entry: dict) -> bool:
    """From the listing entry alone: would the action change this object? (True when it cannot tell.)"""
    known = entry.get("storage_class")
    if action == "restore" and known:
        return known in vocabulary.ARCHIVE_CLASSES
    if action == "storage_class" and known:
        return known != options["storage_class"]
    return True


def _head(endpoint: Endpoint, bucket: str, key: str) -> dict:
    head = s3.head_object(endpoint=endpoint, bucket=bucket, key=key)
    if head is None:
        raise s3.S3Error("NoSuchKey", "The object does not exist (any more).")
    return head


def apply_one(endpoint: Endpoint, bucket: str, action: str, options: dict, entry: dict, *, holder: str = "") -> None:
    """Change one object (inside the job's audited writes); raises Unchanged or S3Error.

    Under the object's lease (``locks.OBJECT``), as the object page's saves: a save of its tags or
    metadata at the same moment waits for this step, then sees what it changed, and the other way round.
    ``holder`` names the lease after the job, so a resumed run takes back the one its dead worker held.
    """
    if not applies(action, options, entry):
        raise Unchanged
    try:
        with locks.held(endpoint.pk, bucket, entry["key"], locks.OBJECT, owner=holder):
            _apply(endpoint, bucket, action, options, entry)
    except locks.Busy as exc:
        raise s3.S3Error("Busy", str(exc), status=409) from None


def _apply(endpoint: Endpoint, bucket: str, action: str, options: dict, entry: dict) -> None:
    key = entry["key"]
    if action in ("tag", "untag"):
        tags = {t["key"]: t["value"] for t in s3.get_object_tags(endpoint=endpoint, bucket=bucket, key=key)}
        wanted = dict(tags)
        if action == "tag":
            wanted.update(options["tags"])
        else:
            wanted = {k: v for k, v in tags.items() if k not in set(options["tag_keys"])}
        if wanted == tags:
            raise Unchanged
        if len(wanted) > vocabulary.MAX_OBJECT_TAGS:
            raise s3.S3Error("TooManyTags", f"The object would have {len(wanted)} tags; S3 allows at most 10.")
        tag_list = [{"key": k, "value": v} for k, v in wanted.items()]
        s3.put_object_tags(endpoint=endpoint, bucket=bucket, key=key, tags=tag_list)
    elif action == "storage_class":
        head = _head(endpoint, bucket, key)
        if head["storage_class"] == options["storage_class"]:
            raise Unchanged
        copying.copy_onto_itself(
            endpoint=endpoint, bucket=bucket, key=key, head=head, storage_class=options["storage_class"]
        )
        follow.object_reclassed(endpoint=endpoint, bucket=bucket, key=key, storage_class=options["storage_class"])
    elif action == "header":
        head = _head(endpoint, bucket, key)
        name, value = options["header"], options["value"]
        if (head["headers"].get(name) or "") == value:
            raise Unchanged
        headers = {**head["headers"], name: value}
        copying.copy_onto_itself(endpoint=endpoint, bucket=bucket, key=key, head=head, headers=headers)
        follow.object_stored(  # the bucket index (catalog): same size and class, a new modification time
            endpoint=endpoint, bucket=bucket, key=key, size=head["size"], storage_class=head["storage_class"]
        )
    elif action == "acl":
        s3.put_object_acl(endpoint=endpoint, bucket=bucket, key=key, canned=options["canned"])
    elif action == "restore":
        if not entry.get("storage_class"):
            entry = {**entry, "storage_class": _head(endpoint, bucket, key)["storage_class"]}
            if not applies(action, options, entry):
                raise Unchanged
        s3.restore_object(endpoint=endpoint, bucket=bucket, key=key, days=options["days"], tier=options["tier"])
    else:
        raise ValueError(f"Not a one-by-one action: {action}")
