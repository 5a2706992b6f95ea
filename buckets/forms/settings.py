"""The forms of the bucket page's sections (and their helpers: CORS rules, lifecycle rules, policy).

Each validates and normalises; ``cleaned_data`` holds what the section's writer sends to S3. Every form
carries ``seen`` (the state it was opened on, see ``forms.base``) and gets ``target`` (the bucket).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from buckets import policy as bucket_policy
from buckets import vocabulary
from buckets.forms.base import SectionForm
from console import safejson

MAX_CORS_JSON_BYTES = 64 * 1024


class VersioningForm(SectionForm):
    status = forms.ChoiceField(
        choices=[("Enabled", "Enabled — keep every version"), ("Suspended", "Suspended — stop creating versions")],
        widget=forms.RadioSelect,
    )


class EncryptionForm(SectionForm):
    algorithm = forms.ChoiceField(
        label="Type",
        choices=[
            ("AES256", "SSE-S3 — keys managed by S3 (AES256)"),
            ("aws:kms", "SSE-KMS — keys in AWS KMS"),
            ("none", "None — remove the default encryption setting"),
        ],
        widget=forms.RadioSelect,
    )
    kms_key_id = forms.CharField(
        label="KMS key",
        required=False,
        max_length=2048,
        help_text="Key id, key ARN or alias; empty: the AWS managed key.",
    )
    bucket_key = forms.BooleanField(label="Use an S3 Bucket Key (fewer KMS calls)", required=False)

    def clean(self):
        data = super().clean()
        kms = data.get("algorithm") == "aws:kms"
        key = data.get("kms_key_id", "").strip()
        if key and not kms:
            self.add_error("kms_key_id", "A KMS key applies only to SSE-KMS.")
        if key and not re.fullmatch(r"[A-Za-z0-9:/_.\-]+", key):
            self.add_error("kms_key_id", "A KMS key id, ARN or alias has no spaces or special characters.")
        if data.get("bucket_key") and not kms:
            self.add_error("bucket_key", "An S3 Bucket Key applies only to SSE-KMS.")
        data["kms_key_id"] = key
        return data


class PublicAccessBlockForm(SectionForm):
    BlockPublicAcls = forms.BooleanField(label="Block public ACLs (refuse new public grants)", required=False)
    IgnorePublicAcls = forms.BooleanField(
        label="Ignore public ACLs (existing public grants stop working)", required=False
    )
    BlockPublicPolicy = forms.BooleanField(label="Block public bucket policies (refuse new ones)", required=False)
    RestrictPublicBuckets = forms.BooleanField(
        label="Restrict public buckets (a public policy stops working for anonymous callers)", required=False
    )


OWNERSHIP = [
    ("BucketOwnerEnforced", "Bucket owner enforced — ACLs disabled, the bucket owner owns every object"),
    ("BucketOwnerPreferred", "Bucket owner preferred — new objects uploaded with bucket-owner-full-control"),
    ("ObjectWriter", "Object writer — the uploading account owns the object"),
]


class OwnershipForm(SectionForm):
    ownership = forms.ChoiceField(label="Object ownership", choices=OWNERSHIP, widget=forms.RadioSelect)


class ObjectLockForm(SectionForm):
    # Whether the bucket had object lock when the form was opened: only what the form shows (the save
    # decides from what S3 holds then).
    lock_enabled = forms.CharField(required=False, widget=forms.HiddenInput)  # "1" or ""
    enable = forms.BooleanField(
        required=False,
        label="Enable object lock on this bucket",
        help_text="It cannot be turned off again, and the bucket's versioning can then never be suspended.",
    )
    mode = forms.ChoiceField(
        label="Default retention",
        required=False,
        choices=[
            ("", "None — objects are not locked by default"),
            ("GOVERNANCE", "Governance — users with a special permission can override"),
            ("COMPLIANCE", "Compliance — nobody can shorten or remove it, not even the root user"),
        ],
        widget=forms.RadioSelect,
    )
    days = forms.IntegerField(required=False, min_value=1, max_value=36500)
    years = forms.IntegerField(required=False, min_value=1, max_value=100)

    def clean(self):
        data = super().clean()
        mode, days, years = data.get("mode"), data.get("days"), data.get("years")
        if self.errors:
            return data
        if mode and bool(days) == bool(years):
            raise ValidationError("Give the default retention period in days or in years (one of them).")
        if not mode and (days or years):
            raise ValidationError("Choose a retention mode for this period, or clear the period.")
        return data


class WebsiteForm(SectionForm):
    index_document = forms.CharField(
        label="Index document", max_length=1024, initial="index.html", help_text="Served for requests to a folder."
    )
    error_document = forms.CharField(
        label="Error document", max_length=1024, required=False, help_text="Optional key served on 4xx errors."
    )

    def clean_index_document(self):
        value = self.cleaned_data["index_document"].strip()
        if "/" in value:
            raise ValidationError("The index document is a suffix such as “index.html”, without “/”.")
        return value

    def clean_error_document(self):
        return self.cleaned_data["error_document"].strip().lstrip("/")


# --- CORS -----------------------------------------------------------------------------------------
CORS_KEYS = {"ID", "AllowedMethods", "AllowedOrigins", "AllowedHeaders", "ExposeHeaders", "MaxAgeSeconds"}
CORS_METHODS = {"GET", "PUT", "POST", "DELETE", "HEAD"}
CORS_EXAMPLE = [
    {
        "AllowedOrigins": ["https://app.example.com"],
        "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3000,
    }
]


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def cors_rule_errors(rule: Any) -> list[str]:
    if not isinstance(rule, dict):
        return ["must be a JSON object."]
    errors = []
    unknown = sorted(set(rule) - CORS_KEYS)
    if unknown:
        errors.append(f"unknown field(s): {', '.join(unknown)} (allowed: {', '.join(sorted(CORS_KEYS))}).")
    methods = rule.get("AllowedMethods")
    if not _strings(methods) or not methods or set(methods) - CORS_METHODS:
        errors.append("“AllowedMethods” must list some of GET, PUT, POST, DELETE, HEAD.")
    origins = rule.get("AllowedOrigins")
    if not _strings(origins) or not origins:
        errors.append("“AllowedOrigins” must list at least one origin, e.g. “https://app.example.com” or “*”.")
    elif any(o.count("*") > 1 for o in origins):
        errors.append("an origin may contain at most one “*”.")
    for name in ("AllowedHeaders", "ExposeHeaders"):
        if name in rule and not _strings(rule[name]):
            errors.append(f"“{name}” must be a list of header names.")
    age = rule.get("MaxAgeSeconds", 0)
    if not isinstance(age, int) or isinstance(age, bool) or age < 0:
        errors.append("“MaxAgeSeconds” must be a whole number of seconds, 0 or more.")
    if "ID" in rule and (not isinstance(rule["ID"], str) or len(rule["ID"]) > 255):
        errors.append("“ID” must be text of at most 255 characters.")
    return errors


class CorsForm(SectionForm):
    rules = forms.CharField(
        label="CORS rules (JSON)",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 12, "spellcheck": "false", "placeholder": json.dumps(CORS_EXAMPLE, indent=2)}
        ),
        help_text=(
            "A JSON list of rules, like the example shown while it is empty. "
            "Empty (or []) removes the CORS configuration."
        ),
    )

    def clean_rules(self):
        text = self.cleaned_data["rules"].strip() or "[]"
        try:
            rules = safejson.loads(text, max_bytes=MAX_CORS_JSON_BYTES, max_depth=6, what="The CORS configuration")
        except safejson.JSONRefused as exc:
            raise ValidationError(exc.message) from None
        if isinstance(rules, dict) and "CORSRules" in rules:
            rules = rules["CORSRules"]
        if not isinstance(rules, list):
            raise ValidationError("Give a JSON list of rules: [ {…}, {…} ].")
        if len(rules) > vocabulary.MAX_CORS_RULES:
            raise ValidationError(
                f"At most {vocabulary.MAX_CORS_RULES} CORS rules are allowed; there are {len(rules)}."
            )
        errors = [f"Rule {n}: {e}" for n, rule in enumerate(rules, 1) for e in cors_rule_errors(rule)]
        if errors:
            raise ValidationError(errors)
        return rules


# --- lifecycle ------------------------------------------------------------------------------------
def parse_tag_lines(text: str) -> list[tuple[str, str]]:
    """'key=value' per line (value may be empty; blank lines ignored)."""
    pairs = []
    for line in text.splitlines():
        if line.strip():
            key, _, value = line.partition("=")
            pairs.append((key.strip(), value.strip()))
    return pairs


def clean_tag_lines(text: str, limit: int) -> dict[str, str]:
    pairs = parse_tag_lines(text)
    errors = vocabulary.tag_errors(pairs, limit=limit)
    if errors:
        raise ValidationError(errors)
    return dict(pairs)


class LifecycleRuleForm(SectionForm):
    """One rule. The actions the form does not manage (dates, more transitions) are kept from the stored rule."""

    original_id = forms.CharField(required=False, widget=forms.HiddenInput)
    rule_id = forms.CharField(label="Rule name (ID)", max_length=255)
    status = forms.ChoiceField(choices=[("Enabled", "Enabled"), ("Disabled", "Disabled")], initial="Enabled")
    prefix = forms.CharField(label="Filter: key prefix", required=False, max_length=1024, strip=False)
    tags = forms.CharField(
        label="Filter: object tags",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "key=value, one per line"}),
        help_text="The rule applies to objects with all these tags.",
    )
    expire_days = forms.IntegerField(label="Expire current versions after (days)", required=False, min_value=1)
    noncurrent_days = forms.IntegerField(label="Delete noncurrent versions after (days)", required=False, min_value=1)
    transition_days = forms.IntegerField(label="Transition after (days)", required=False, min_value=0)
    transition_class = forms.ChoiceField(label="…to storage class", required=False)
    abort_days = forms.IntegerField(
        label="Abort incomplete multipart uploads after (days)", required=False, min_value=1
    )

    def __init__(self, *args, accepted=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["transition_class"].choices = [("", "—"), *vocabulary.transition_classes(accepted)]

    def clean_tags(self):
        return clean_tag_lines(self.cleaned_data["tags"], vocabulary.MAX_OBJECT_TAGS)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        days, storage = data.get("transition_days"), data.get("transition_class")
        actions = [data.get("expire_days"), data.get("noncurrent_days"), days, data.get("abort_days")]
        if all(a is None for a in actions):
            raise ValidationError("Choose at least one action: expiration, noncurrent expiration, transition or abort.")
        if (days is None) != (not storage):
            self.add_error("transition_class", "A transition needs both a number of days and a storage class.")
        elif storage in vocabulary.THIRTY_DAY_CLASSES and days < 30:
            self.add_error("transition_days", f"S3 moves objects to {storage} after 30 days at the earliest.")
        expire = data.get("expire_days")
        if expire is not None and days is not None and expire <= days:
            self.add_error("expire_days", "Expiration must come after the transition.")
        if data.get("abort_days") and data.get("tags"):
            self.add_error("abort_days", "S3 does not allow aborting multipart uploads in a rule filtered by tags.")
        return data

    def rule(self, original: dict | None = None) -> dict:
        """The S3 rule: the stored rule's other parts kept, the managed ones from the form."""
        data = self.cleaned_data
        rule = {k: v for k, v in (original or {}).items() if k not in {"ID", "Status", "Filter", "Prefix"}}
        rule.update({"ID": data["rule_id"], "Status": data["status"], "Filter": _lifecycle_filter(data)})
        old_expiration = rule.pop("Expiration", {})
        if data.get("expire_days"):
            rule["Expiration"] = {"Days": data["expire_days"]}
        elif old_expiration and "Days" not in old_expiration:
            rule["Expiration"] = old_expiration
        _set_or_drop(rule, "NoncurrentVersionExpiration", data.get("noncurrent_days"), "NoncurrentDays")
        _set_or_drop(rule, "AbortIncompleteMultipartUpload", data.get("abort_days"), "DaysAfterInitiation")
        others = rule.pop("Transitions", [])[1:]
        if data.get("transition_days") is not None:
            others.insert(0, {"Days": data["transition_days"], "StorageClass": data["transition_class"]})
        if others:
            rule["Transitions"] = others
        return rule


def _set_or_drop(rule: dict, name: str, value: int | None, field: str) -> None:
    old = rule.pop(name, {})
    if value:
        rule[name] = {**{k: v for k, v in old.items() if k != field}, field: value}


def _lifecycle_filter(data: dict) -> dict:
    prefix, tags = data.get("prefix", ""), [{"Key": k, "Value": v} for k, v in data.get("tags", {}).items()]
    if tags and (prefix or len(tags) > 1):
        return {"And": {**({"Prefix": prefix} if prefix else {}), "Tags": tags}}
    if tags:
        return {"Tag": tags[0]}
    return {"Prefix": prefix}


def lifecycle_rule_initial(rule: dict) -> dict:
    """Form values for a stored rule."""
    flt = rule.get("Filter") or {}
    both = flt.get("And") or {}
    tags = both.get("Tags") or ([flt["Tag"]] if "Tag" in flt else [])
    transitions = rule.get("Transitions") or [{}]
    return {
        "original_id": rule.get("ID", ""),
        "rule_id": rule.get("ID", ""),
        "status": rule.get("Status", "Enabled"),
        "prefix": flt.get("Prefix", both.get("Prefix", rule.get("Prefix", ""))),
        "tags": "\n".join(f"{t['Key']}={t.get('Value', '')}" for t in tags),
        "expire_days": (rule.get("Expiration") or {}).get("Days"),
        "noncurrent_days": (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"),
        "transition_days": transitions[0].get("Days"),
        "transition_class": transitions[0].get("StorageClass", ""),
        "abort_days": (rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation"),
    }


def describe_lifecycle_rule(rule: dict) -> dict:
    """A stored rule in words for the list: {id, status, filter, actions}."""
    values = lifecycle_rule_initial(rule)
    scope = []
    if values["prefix"]:
        scope.append(f"prefix “{values['prefix']}”")
    if values["tags"]:
        scope.append("tags " + ", ".join(values["tags"].splitlines()))
    actions = []
    expiration = rule.get("Expiration") or {}
    if "Days" in expiration:
        actions.append(f"expire current versions after {expiration['Days']} days")
    if "Date" in expiration:
        actions.append(f"expire current versions on {str(expiration['Date'])[:10]}")
    if expiration.get("ExpiredObjectDeleteMarker"):
        actions.append("remove expired delete markers")
    for t in rule.get("Transitions") or []:
        when = f"after {t['Days']} days" if "Days" in t else f"on {str(t.get('Date'))[:10]}"
        actions.append(f"move to {t.get('StorageClass')} {when}")
    if values["noncurrent_days"]:
        actions.append(f"delete noncurrent versions after {values['noncurrent_days']} days")
    for t in rule.get("NoncurrentVersionTransitions") or []:
        actions.append(f"move noncurrent versions to {t.get('StorageClass')} after {t.get('NoncurrentDays')} days")
    if values["abort_days"]:
        actions.append(f"abort incomplete multipart uploads after {values['abort_days']} days")
    return {
        "id": rule.get("ID", ""),
        "status": rule.get("Status", ""),
        "filter": "; ".join(scope) or "the whole bucket",
        "actions": actions,
    }


# --- policy ---------------------------------------------------------------------------------------
class PolicyForm(SectionForm):
    policy = forms.CharField(
        label="Bucket policy (JSON)",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}),
    )

    def clean_policy(self):
        text = self.cleaned_data["policy"].strip()
        if not text:
            raise ValidationError("The policy is empty: write one, or use “Delete policy” above.")
        document, errors = bucket_policy.policy_errors(text, self.target.bucket)
        if errors:
            raise ValidationError(errors)
        return bucket_policy.pretty(document)
