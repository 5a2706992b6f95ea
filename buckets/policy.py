"""Bucket policies and public access: pure functions, no S3 calls.

* :func:`public_status` decides whether a bucket is public from its policy, ACL and
  public access block (the same inputs the AWS console uses, minus account-level blocks).
* :func:`policy_errors` checks a policy document before it is sent.
* :func:`allow_public_read` / :func:`remove_public_access` compute the helpers' policies.
* :func:`diff_lines` is the review step's unified diff.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from console import safejson

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
PUBLIC_GROUPS = {ALL_USERS: "everyone (AllUsers)", AUTHENTICATED_USERS: "any AWS account (AuthenticatedUsers)"}
VERSIONS = ("2012-10-17", "2008-10-17")
MAX_POLICY_BYTES = 20 * 1024

# Condition keys that pin a statement to known callers: AWS does not count such a statement as public.
RESTRICTING_CONDITION_KEYS = frozenset(
    {
        "aws:sourceip",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalservicename",
        "aws:userid",
        "aws:username",
        "s3:dataaccesspointaccount",
        "s3:dataaccesspointarn",
    }
)
PUBLIC_READ_SID = "AllowPublicRead"


@dataclass
class PublicStatus:
    """level: "public", "blocked" (public grants neutralized by the public access block), "private" or "unknown"."""

    level: str
    reasons: list[str] = field(default_factory=list)
    neutralized: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return {
            "public": "Public",
            "blocked": "Not public (blocked)",
            "private": "Not public",
            "unknown": "Unknown",
        }[self.level]


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _principal_is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any(p == "*" for p in _as_list(principal.get("AWS")))
    return False


def _is_restricted(condition: Any) -> bool:
    if not isinstance(condition, dict):
        return False
    for operator, tests in condition.items():
        if not isinstance(tests, dict) or str(operator).lower().startswith("null"):
            continue
        for key, value in tests.items():
            if str(key).lower() in RESTRICTING_CONDITION_KEYS and "*" not in [str(v) for v in _as_list(value)]:
                return True
    return False


def statement_is_public(statement: Any) -> bool:
    """Allow to everyone (Principal "*", or NotPrincipal) without a condition that pins the caller."""
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
        return False
    everyone = _principal_is_everyone(statement.get("Principal")) or "NotPrincipal" in statement
    return everyone and not _is_restricted(statement.get("Condition"))


def public_statements(policy: dict | None) -> list[dict]:
    if not isinstance(policy, dict):
        return []
    return [s for s in _as_list(policy.get("Statement")) if statement_is_public(s)]


def public_acl_grants(acl: dict | None) -> list[dict]:
    """Grants to AllUsers / AuthenticatedUsers in an ACL shaped like s3.get_bucket_acl's answer."""
    if not acl:
        return []
    return [g for g in acl.get("grants", []) if g.get("type") == "Group" and g.get("grantee") in PUBLIC_GROUPS]


def public_status(
    *, policy: dict | None, acl: dict | None, block: dict | None, unknown: list[str] | None = None
) -> PublicStatus:
    """Public when a policy statement or an ACL grant opens the bucket and the public access block does not
    neutralize it: RestrictPublicBuckets neutralizes public policies, IgnorePublicAcls public ACL grants."""
    block = block or {}
    status = PublicStatus("private", unknown=list(unknown or []))
    for statement in public_statements(policy):
        sid = statement.get("Sid")
        text = f"the bucket policy allows everyone{f' (statement “{sid}”)' if sid else ''}"
        (status.neutralized if block.get("RestrictPublicBuckets") else status.reasons).append(text)
    for grant in public_acl_grants(acl):
        text = f"the ACL grants {grant.get('permission')} to {PUBLIC_GROUPS[grant['grantee']]}"
        (status.neutralized if block.get("IgnorePublicAcls") else status.reasons).append(text)
    if status.reasons:
        status.level = "public"
    elif status.unknown:
        status.level = "unknown"
    elif status.neutralized:
        status.level = "blocked"
    return status


# --- policy documents ---------------------------------------------------------------
def bucket_arn_pattern(bucket: str) -> re.Pattern:
    return re.compile(rf"arn:aws[a-z-]*:s3:::{re.escape(bucket)}(/.*)?")


def policy_errors(text: str, bucket: str) -> tuple[dict | None, list[str]]:
    """Parse and check a bucket policy: JSON, Version, Statement list, Effect, Principal, Action, Resource naming
    this bucket's ARN. Returns (policy, errors); the policy is None when the JSON cannot be read."""
    if len(text.encode()) > MAX_POLICY_BYTES:
        return None, [f"A bucket policy may be at most 20 KiB; this one has {len(text.encode()) // 1024} KiB."]
    try:
        policy = safejson.loads(text, max_bytes=MAX_POLICY_BYTES, what="The policy")
    except safejson.JSONRefused as exc:
        return None, [exc.message]
    if not isinstance(policy, dict):
        return None, ["A policy must be a JSON object with “Version” and “Statement”."]
    errors: list[str] = []
    if policy.get("Version") not in VERSIONS:
        errors.append("“Version” must be “2012-10-17”.")
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        errors.append("“Statement” must be a non-empty list of statements.")
        return policy, errors
    arn = bucket_arn_pattern(bucket)
    sids: set[str] = set()
    for number, statement in enumerate(statements, 1):
        errors += [f"Statement {number}: {e}" for e in _statement_errors(statement, arn, bucket, sids)]
    return policy, errors


def _statement_errors(statement: Any, arn: re.Pattern, bucket: str, sids: set[str]) -> list[str]:
    if not isinstance(statement, dict):
        return ["must be a JSON object."]
    errors = []
    sid = statement.get("Sid")
    if sid is not None:
        if not isinstance(sid, str) or not re.fullmatch(r"[A-Za-z0-9 _.-]*", sid):
            errors.append("“Sid” may contain only letters, digits, spaces, dots, hyphens and underscores.")
        elif sid in sids:
            errors.append(f"the Sid “{sid}” is used twice.")
        else:
            sids.add(sid)
    if statement.get("Effect") not in ("Allow", "Deny"):
        errors.append("“Effect” must be “Allow” or “Deny”.")
    if "Principal" not in statement and "NotPrincipal" not in statement:
        errors.append('a bucket policy statement needs a “Principal” (who it applies to), e.g. "*".')
    actions = statement.get("Action", statement.get("NotAction"))
    if not actions or not all(
        isinstance(a, str) and (a == "*" or a.lower().startswith("s3:")) for a in _as_list(actions)
    ):
        errors.append("“Action” must name S3 actions, such as “s3:GetObject” (or “*”).")
    resources = statement.get("Resource", statement.get("NotResource"))
    if not resources:
        errors.append(f"“Resource” is missing: name this bucket, “arn:aws:s3:::{bucket}” or “arn:aws:s3:::{bucket}/*”.")
    else:
        wrong = [r for r in _as_list(resources) if not isinstance(r, str) or not arn.fullmatch(r)]
        if wrong:
            shown = ", ".join(str(r) for r in wrong[:3])
            errors.append(f"every Resource must be this bucket's ARN (arn:aws:s3:::{bucket}…); not: {shown}.")
    condition = statement.get("Condition")
    if condition is not None and not isinstance(condition, dict):
        errors.append("“Condition” must be a JSON object.")
    return errors


def _is_s3_action(action: Any) -> bool:
    return isinstance(action, str) and (action == "*" or action.lower().startswith("s3:"))


def _has_sid(statement: Any, sid: str) -> bool:
    return isinstance(statement, dict) and statement.get("Sid") == sid


def pretty(policy: dict | str | None) -> str:
    """A policy as the editor and the diff show it: indented JSON, keys in the document's order."""
    if policy is None or policy == "":
        return ""
    if isinstance(policy, str):
        try:
            policy = safejson.loads(policy, max_bytes=4 * MAX_POLICY_BYTES)
        except safejson.JSONRefused:
            return policy
    return json.dumps(policy, indent=2, ensure_ascii=False)


def allow_public_read(policy: dict | None, bucket: str) -> dict:
    """The policy plus one statement letting everyone read the bucket's objects (kept if already there)."""
    result = dict(policy) if isinstance(policy, dict) else {}
    result.setdefault("Version", "2012-10-17")
    statements = [
        s for s in _as_list(result.get("Statement")) if not (isinstance(s, dict) and s.get("Sid") == PUBLIC_READ_SID)
    ]
    statements.append(
        {
            "Sid": PUBLIC_READ_SID,
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }
    )
    result["Statement"] = statements
    return result


def remove_public_access(policy: dict | None) -> dict | None:
    """The policy without its public statements; None when nothing would remain."""
    if not isinstance(policy, dict):
        return None
    kept = [s for s in _as_list(policy.get("Statement")) if not statement_is_public(s)]
    if not kept:
        return None
    return {**policy, "Statement": kept}


def diff_lines(old: str, new: str) -> list[tuple[str, str]]:
    """A unified diff as (kind, line) pairs, kind one of "add", "del", "hunk", "" (context)."""
    lines = []
    for line in difflib.unified_diff(
        old.splitlines(), new.splitlines(), "stored policy", "new policy", n=3, lineterm=""
    ):
        if line.startswith(("---", "+++")):
            continue
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "")
        lines.append((kind, line))
    return lines
