"""The inline sections of the bucket page and of the object page: one registry, one mechanism.

A :class:`Section` says what a card reads, which form edits it, what the change writes, and which role
each needs. The generic views (``buckets.views.sections``) show, edit, save and remove any of them, and
every save goes through ``services.sections.section_change`` (lease, compare with what the user saw,
audit). Adding a setting is one entry here and one template with two partials (``display``, ``form``)
in ``templates/buckets/sections/<page>/<slug>.html``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from buckets import locks, s3, vocabulary
from buckets.forms import sections as forms
from buckets.forms import settings as setting_forms
from buckets.forms.base import sign_seen
from buckets.services import bucket_settings as bs
from buckets.services import objects as obj
from buckets.services import reads
from buckets.services.sections import Target, normalised
from console.models import Role


def _none(*args) -> dict:
    return {}


def _ready(target: Target, value: Any) -> str:
    return ""


@dataclass(frozen=True)
class Section:
    page: str  # "bucket" or "object"
    slug: str
    title: str
    read: Callable[[Target], Any]
    form: type | None = None
    write: Callable[[Target, dict, Any], None] | None = None
    remove: Callable[[Target, Any], None] | None = None
    # The form's starting values and rows (from the value read), and its other arguments.
    initial: Callable[[Any], dict] = _none
    rows: Callable[[Any], list] | None = None
    form_kwargs: Callable[[Target], dict] = _none
    submit_to: str = "save"  # the URL the form posts to ("review": the policy's diff step)
    refreshes: tuple[str, ...] = ()  # other sections of the page shown anew after a save
    # What the form shows of the value: a save is refused when this changed since the form was opened.
    fingerprint: Callable[[Any], Any] = lambda value: value
    # "" when the section can be edited now; otherwise the reason, shown instead of the Edit button.
    blocked: Callable[[Target, Any], str] = _ready
    present: Callable[[Any], dict] = _none
    # Run after a read, in the request's own thread (reads may run in threads: no database there).
    after_read: Callable[[Target, Any], None] | None = None
    # The S3 reads ``read`` makes one after another: a page reading several sections at once starts
    # these at once too (shared reads), so the section waits one round trip, not one for each.
    ahead: tuple[Callable[[Target], Any], ...] = ()
    # Other sections whose "not implemented" memory ``read`` honours (``Target.unsupported``): the
    # overview asks no public access block of an endpoint known to have none.
    consults: tuple[str, ...] = ()
    edit_role: Role = Role.ADMIN
    edit_label: str = "Edit"
    save_label: str = "Save"
    remove_label: str = ""
    remove_confirm: str = ""
    column: str = "main"
    # An endpoint that refuses to *write* this setting as "not implemented" does not support it at all
    # (SeaweedFS answers PutBucketWebsite so). Elsewhere a refused write may be one unsupported option.
    unsupported_on_write: bool = False
    audit_name: str = ""  # the audit action's middle part, when not the slug ("object.storage_class.put")
    lock: str = ""  # the lease a save takes, when not the slug's own (several sections write one resource)
    shared_template: str = ""  # a template both pages use (tags, ACL): buckets/sections/shared/<name>.html
    note: str = ""  # shown under the form (what saving does)
    extra: dict = field(default_factory=dict)

    @property
    def template(self) -> str:
        if self.shared_template:
            return f"buckets/sections/shared/{self.shared_template}.html"
        return f"buckets/sections/{self.page}/{self.slug}.html"

    @property
    def display_template(self) -> str:
        return f"{self.template}#display"

    @property
    def form_template(self) -> str:
        return f"{self.template}#form"

    @property
    def lease(self) -> str:
        return self.lock or self.slug

    @property
    def dom_id(self) -> str:
        return f"{'setting' if self.page == 'bucket' else 'object'}-{self.slug}"

    def action(self, verb: str = "put") -> str:
        return f"{self.page}.{self.audit_name or self.slug.replace('-', '_')}.{verb}"


# --- why a section cannot be edited right now ------------------------------------------------------
def _object_lock_initial(value: Any) -> dict:
    return {
        "lock_enabled": "1" if value and value["enabled"] else "",
        **{k: (value or {}).get(k) for k in ("mode", "days", "years")},
    }


def _acl_blocked(target: Target, value: Any) -> str:
    if reads.ownership_enforced(endpoint=target.endpoint, bucket=target.bucket, fresh=target.saving):
        return (
            "ACLs are disabled: the bucket's object ownership is “bucket owner enforced”, so access is "
            "governed by policies only. Change object ownership to edit ACLs."
        )
    return ""


def _old_version(target: Target, value: Any) -> str:
    return "This is not the current version: open the current one to edit it." if target.version_id else ""


def _object_acl_blocked(target: Target, value: Any) -> str:
    return _old_version(target, value) or _acl_blocked(target, value)


def _accepted(target: Target) -> dict:
    return {"accepted": target.endpoint.accepted_storage_classes}


def _acl_rows(value: dict) -> list:
    return [
        (g["type"], vocabulary.GROUP_NAMES.get(g["grantee"], g["grantee"]), g["permission"]) for g in value["grants"]
    ]


def _grantee_name(grant: dict) -> str:
    if grant["grantee"] in vocabulary.PUBLIC_GROUPS:
        label = vocabulary.PUBLIC_GROUPS[grant["grantee"]]
        return label[:1].upper() + label[1:]
    return vocabulary.GROUP_NAMES.get(grant["grantee"]) or grant["display_name"] or grant["grantee"]


def _present_acl(value: dict) -> dict:
    rows = [
        {
            "who": _grantee_name(g),
            "detail": g["grantee"] if g["display_name"] not in ("", g["grantee"]) else "",
            "kind": dict(vocabulary.GRANTEE_TYPES).get(g["type"], g["type"]),
            "permission": g["permission"],
            "public": g["type"] == "Group" and g["grantee"] in vocabulary.PUBLIC_GROUPS,
            "owner": g["grantee"] == value["owner"]["id"],
        }
        for g in value["grants"]
    ]
    return {"grant_rows": rows}


def _encryption_initial(value: dict | None) -> dict:
    if not value:
        return {"algorithm": "none"}
    algorithm = "aws:kms" if value["algorithm"].startswith("aws:kms") else value["algorithm"]
    return {"algorithm": algorithm, "kms_key_id": value["kms_key_id"], "bucket_key": value["bucket_key"]}


def _website_initial(value: dict | None) -> dict:
    value = value or {}
    return {
        "index_document": (value.get("IndexDocument") or {}).get("Suffix", "index.html"),
        "error_document": (value.get("ErrorDocument") or {}).get("Key", ""),
    }


def _present_rules(rules: list[dict]) -> dict:
    """The rules in words, each with the state a delete of it is compared with."""
    return {"rules": [{**setting_forms.describe_lifecycle_rule(r), "seen": sign_seen(normalised(r))} for r in rules]}


def _tag_rows(tags: list[dict]) -> list[tuple[str, str]]:
    return [(t["key"], t["value"]) for t in tags]


def _header_initial(head: dict) -> dict:
    return {name: head["headers"][s3_name] for name, s3_name in forms.HEADER_FIELDS.items()}


BUCKET_SECTIONS = [
    Section("bucket", "overview", "Overview", bs.read_overview, after_read=bs.record_public,
            ahead=bs.OVERVIEW_READS, consults=(bs.PUBLIC_ACCESS_BLOCK,)),  # fmt: skip
    Section(
        "bucket", "versioning", "Versioning", bs.getter(s3.get_bucket_versioning),
        form=setting_forms.VersioningForm, write=bs.write_versioning,
        # Never enabled: nothing pre-selected, so an unchanged Save cannot switch it on for good.
        initial=lambda v: {"status": v["status"]},
    ),
    Section(
        "bucket", "encryption", "Default encryption", bs.getter(s3.get_bucket_encryption),
        form=setting_forms.EncryptionForm, write=bs.write_encryption, initial=_encryption_initial,
        note="Saving tries a small test upload (removed at once); if it fails, the previous setting is put back.",
    ),
    Section(
        "bucket", "tags", "Tags", bs.getter(s3.get_bucket_tags),
        form=forms.TagsForm, write=bs.write_tags, rows=lambda v: list(v.items()), shared_template="tags",
        present=lambda v: {"tags": list(v.items())},
        form_kwargs=lambda t: {"limit": vocabulary.MAX_BUCKET_TAGS},
    ),
    Section(
        "bucket", "cors", "CORS", bs.getter(s3.get_bucket_cors),
        form=setting_forms.CorsForm, write=bs.write_cors, remove=bs.remove_cors,
        initial=lambda v: {"rules": bs.cors_text(v)},
        remove_label="Remove CORS", remove_confirm="Remove every CORS rule of this bucket?",
        extra={"example": json.dumps(setting_forms.CORS_EXAMPLE, indent=2)},
    ),
    Section(
        "bucket", "lifecycle", "Lifecycle rules", bs.getter(s3.get_bucket_lifecycle),
        remove=bs.remove_lifecycle,
        present=_present_rules,
        remove_label="Remove all rules", remove_confirm="Remove every lifecycle rule of this bucket?",
    ),
    Section(
        "bucket", "policy", "Bucket policy", bs.getter(s3.get_bucket_policy),
        form=setting_forms.PolicyForm, write=bs.write_policy, remove=bs.remove_policy,
        initial=lambda v: {"policy": bs.policy_text(v)}, present=bs.present_policy,
        remove_label="Delete policy", remove_confirm="Delete the bucket policy? Access it grants stops at once.",
        save_label="Review changes", submit_to="review",
    ),
    Section(
        "bucket", "acl", "Access control list (ACL)", bs.getter(s3.get_bucket_acl),
        form=forms.AclForm, write=bs.write_acl, blocked=_acl_blocked, present=_present_acl, shared_template="acl",
        rows=_acl_rows, form_kwargs=lambda t: {"objects": False},
    ),
    Section(
        "bucket", "public-access-block", "Block public access", bs.getter(s3.get_public_access_block),
        form=setting_forms.PublicAccessBlockForm, write=bs.write_public_access_block,
        remove=bs.remove_public_access_block,
        initial=lambda v: v or {},
        remove_label="Remove the block",
        remove_confirm="Remove the bucket's public access block? Public ACLs and policies take effect again.",
    ),
    Section(
        "bucket", "ownership", "Object ownership", bs.getter(s3.get_bucket_ownership),
        form=setting_forms.OwnershipForm, write=bs.write_ownership,
        initial=lambda v: {"ownership": v or "BucketOwnerEnforced"},
    ),
    Section(
        "bucket", "object-lock", "Object lock", bs.getter(s3.get_object_lock),
        form=setting_forms.ObjectLockForm, write=bs.write_object_lock,
        initial=_object_lock_initial,
    ),
    Section(
        "bucket", "website", "Static website hosting", bs.getter(s3.get_bucket_website),
        form=setting_forms.WebsiteForm, write=bs.write_website, remove=bs.remove_website, initial=_website_initial,
        remove_label="Disable website hosting", remove_confirm="Disable static website hosting for this bucket?",
        save_label="Save and enable", unsupported_on_write=True,
    ),
]  # fmt: skip

OBJECT_SECTIONS = [
    Section("object", "properties", "Properties", obj.read_head),
    Section(
        "object", "metadata", "Metadata and content headers", obj.read_head, lock=locks.OBJECT,
        form=forms.MetadataForm, write=obj.write_metadata, fingerprint=obj.metadata_state,
        initial=_header_initial, rows=lambda head: list(head["metadata"].items()),
        blocked=_old_version, edit_role=Role.OPERATOR, refreshes=("properties", "storage"),
        note="Saving copies the object onto itself with the new metadata (a new version in a versioned bucket); "
        "tags, storage class, encryption and ACL are kept.",
    ),
    Section(
        "object", "tags", "Tags", obj.read_tags, lock=locks.OBJECT,
        form=forms.TagsForm, write=obj.write_tags, blocked=_old_version, edit_role=Role.OPERATOR,
        shared_template="tags", rows=_tag_rows, present=lambda v: {"tags": _tag_rows(v)},
        form_kwargs=lambda t: {"limit": vocabulary.MAX_OBJECT_TAGS},
    ),
    Section(
        "object", "acl", "Access control list", obj.read_acl, lock=locks.OBJECT,
        form=forms.AclForm, write=obj.write_acl, blocked=_object_acl_blocked, present=_present_acl,
        shared_template="acl", rows=_acl_rows, form_kwargs=lambda t: {"objects": True}, edit_role=Role.OPERATOR,
    ),
    Section(
        "object", "storage", "Storage class", obj.read_head, lock=locks.OBJECT,
        form=forms.StorageClassForm, write=obj.write_storage_class, fingerprint=obj.storage_state,
        initial=lambda head: {"storage_class": head["storage_class"]}, form_kwargs=_accepted,
        blocked=_old_version, edit_role=Role.OPERATOR, edit_label="Change", save_label="Change", column="side",
        audit_name="storage_class",
        refreshes=("properties", "metadata"),
        note="The object is copied onto itself in the new class (a new version in a versioned bucket). "
        "Glacier and Deep Archive objects cannot be read until restored.",
    ),
]  # fmt: skip

REGISTRY: dict[tuple[str, str], Section] = {(s.page, s.slug): s for s in BUCKET_SECTIONS + OBJECT_SECTIONS}


def section_for(page: str, slug: str) -> Section | None:
    return REGISTRY.get((page, slug))
