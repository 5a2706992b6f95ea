"""Bucket names: S3's naming rules, one message per broken rule, and unique names from a prefix.

The rules are those of Amazon S3 for general purpose buckets; every S3-compatible
server accepts a name that passes them, so the console checks them before any call.
"""

from __future__ import annotations

import ipaddress
import re
import uuid

MIN_LENGTH, MAX_LENGTH = 3, 63
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_ALLOWED = re.compile(r"[a-z0-9.-]")


def bucket_name_errors(name: str) -> list[str]:
    """Every naming rule the name breaks, each as one sentence; [] when the name is valid."""
    errors: list[str] = []
    if not MIN_LENGTH <= len(name) <= MAX_LENGTH:
        errors.append(f"A bucket name must be {MIN_LENGTH} to {MAX_LENGTH} characters long (this one has {len(name)}).")
    bad = sorted({c for c in name if not _ALLOWED.fullmatch(c)})
    if bad:
        shown = " ".join("space" if c == " " else c for c in bad[:10])
        errors.append(
            "A bucket name may contain only lowercase letters, digits, dots (.) and hyphens (-); "
            f"not allowed here: {shown}"
        )
    if name and not name[0].isalnum():
        errors.append("A bucket name must start with a lowercase letter or a digit.")
    if name and not name[-1].isalnum():
        errors.append("A bucket name must end with a lowercase letter or a digit.")
    if ".." in name:
        errors.append("A bucket name must not contain two dots in a row (..).")
    if _looks_like_ip(name):
        errors.append("A bucket name must not look like an IP address (such as 192.168.5.4).")
    for prefix in RESERVED_PREFIXES:
        if name.startswith(prefix):
            errors.append(f"A bucket name must not start with “{prefix}”: that prefix is reserved.")
    for suffix in RESERVED_SUFFIXES:
        if name.endswith(suffix):
            errors.append(f"A bucket name must not end with “{suffix}”: that suffix is reserved.")
    return errors


def _looks_like_ip(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return bool(re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name))
    return True


def unique_bucket_name(prefix: str = "") -> str:
    """prefix + "-" + uuid4, cut to 63 characters; the prefix is lowercased and stripped of what S3 refuses.

    The prefix is kept to 50 characters so that at least 12 random hex digits remain.
    """
    clean = re.sub(r"[^a-z0-9.-]+", "-", prefix.strip().lower())
    clean = re.sub(r"\.{2,}", ".", clean).strip(".-")[:50].rstrip(".-")
    name = f"{clean}-{uuid.uuid4()}" if clean else str(uuid.uuid4())
    return name[:MAX_LENGTH].rstrip(".-")
