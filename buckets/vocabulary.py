"""S3's terms and limits, defined once: forms, views, templates and the browser's scripts all read them here.

Nothing here talks to S3. Lists of choices are ``(value, label)`` pairs; rule checks return one
sentence per broken rule (``[]`` when the value is fine), so a form can show every problem at once.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass

# --- sizes and counts --------------------------------------------------------------------------
KiB, MiB, GiB, TiB = 1024, 1024**2, 1024**3, 1024**4
MAX_KEY_BYTES = 1024  # object keys: UTF-8 bytes
MAX_METADATA_BYTES = 2048  # user metadata: names and values together
MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_TAG_KEY, MAX_TAG_VALUE = 128, 256
MAX_SINGLE_COPY = 5 * GiB  # CopyObject and a single PUT; beyond: multipart / UploadPartCopy
MIN_PART_SIZE = 5 * MiB  # every part but the last
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 5 * TiB
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4
MAX_LIST_KEYS = 1000  # ListObjectsV2 / ListObjectVersions / DeleteObjects per call
MAX_CORS_RULES = 100
MAX_ACL_GRANTS = 100

# --- storage classes ---------------------------------------------------------------------------
STORAGE_CLASSES: list[tuple[str, str]] = [
    ("STANDARD", "Standard"),
    ("STANDARD_IA", "Standard-IA (infrequent access)"),
    ("ONEZONE_IA", "One Zone-IA"),
    ("INTELLIGENT_TIERING", "Intelligent-Tiering"),
    ("GLACIER_IR", "Glacier Instant Retrieval"),
    ("GLACIER", "Glacier Flexible Retrieval"),
    ("DEEP_ARCHIVE", "Glacier Deep Archive"),
    ("REDUCED_REDUNDANCY", "Reduced redundancy (legacy)"),
]
# Lifecycle transitions move objects out of STANDARD: only these are targets.
TRANSITION_CLASSES = ("STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")
# Transitions into these need objects at least 30 days old.
THIRTY_DAY_CLASSES = ("STANDARD_IA", "ONEZONE_IA")
# Objects in these cannot be read until restored.
ARCHIVE_CLASSES = ("GLACIER", "DEEP_ARCHIVE")


def storage_classes(accepted: list[str] | tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """The storage classes an endpoint accepts (its ``storage_classes`` setting), all of S3's when unset."""
    if not accepted:
        return list(STORAGE_CLASSES)
    known = dict(STORAGE_CLASSES)
    return [(name, known.get(name, name)) for name in accepted]


def transition_classes(accepted: list[str] | tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    return [(name, label) for name, label in storage_classes(accepted) if name in TRANSITION_CLASSES]


# --- access control lists ----------------------------------------------------------------------
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = {"AllUsers": ALL_USERS, "AuthenticatedUsers": AUTHENTICATED_USERS, "LogDelivery": LOG_DELIVERY}
GROUP_NAMES = {uri: name for name, uri in GROUPS.items()}
# Grants to these groups open a bucket or object beyond the account.
PUBLIC_GROUPS = {ALL_USERS: "everyone (AllUsers)", AUTHENTICATED_USERS: "any AWS account (AuthenticatedUsers)"}
GRANTEE_TYPES = [
    ("CanonicalUser", "Canonical user ID"),
    ("Group", "Group"),
    ("AmazonCustomerByEmail", "E-mail address (AWS, some regions)"),
]
PERMISSIONS = ["FULL_CONTROL", "READ", "WRITE", "READ_ACP", "WRITE_ACP"]


@dataclass(frozen=True)
class CannedAcl:
    name: str
    label: str
    public: bool = False
    objects_only: bool = False


CANNED = [
    CannedAcl("private", "private — only the owner"),
    CannedAcl("public-read", "public-read — anyone on the internet can read", public=True),
    CannedAcl("public-read-write", "public-read-write — anyone can read (and, on buckets, write)", public=True),
    CannedAcl("authenticated-read", "authenticated-read — any AWS account can read", public=True),
    CannedAcl("bucket-owner-read", "bucket-owner-read — the bucket owner can read", objects_only=True),
    CannedAcl(
        "bucket-owner-full-control", "bucket-owner-full-control — the bucket owner has full control", objects_only=True
    ),
]
PUBLIC_CANNED_ACLS = {c.name for c in CANNED if c.public}


def canned_acls(*, objects: bool) -> list[tuple[str, str]]:
    return [(c.name, c.label) for c in CANNED if objects or not c.objects_only]


def public_grants(grants: list[dict]) -> set[tuple[str, str]]:
    """(group URI, permission) of the grants that open something to AllUsers/AuthenticatedUsers."""
    return {
        (g["grantee"], g["permission"]) for g in grants if g.get("type") == "Group" and g["grantee"] in PUBLIC_GROUPS
    }


def grant_errors(rows: list[dict]) -> tuple[list[dict], list[str]]:
    """Clean grant rows ({type, grantee, permission}; a row without a grantee is skipped): (grants, errors)."""
    grants: list[dict] = []
    errors: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for n, row in enumerate(rows, 1):
        kind, value, permission = row.get("type", ""), row.get("grantee", "").strip(), row.get("permission", "")
        if not value:
            continue
        if kind == "Group":
            value = GROUPS.get(value, value)
            if value not in GROUP_NAMES:
                errors.append(f"Grant {n}: the group must be one of {', '.join(GROUPS)}.")
        elif kind == "AmazonCustomerByEmail":
            if not EMAIL.fullmatch(value):
                errors.append(f"Grant {n}: “{value}” is not an e-mail address.")
        elif kind == "CanonicalUser":
            if not CANONICAL_ID.fullmatch(value):
                errors.append(f"Grant {n}: a canonical user ID is letters and digits (64 hex digits on AWS).")
        else:
            errors.append(f"Grant {n}: choose the grantee type.")
        if permission not in PERMISSIONS:
            errors.append(f"Grant {n}: choose a permission ({', '.join(PERMISSIONS)}).")
        if (kind, value, permission) in seen:
            errors.append(f"Grant {n} repeats an earlier grant.")
        seen.add((kind, value, permission))
        grants.append({"type": kind, "grantee": value, "permission": permission})
    if len(grants) > MAX_ACL_GRANTS:
        errors.append(f"An ACL may hold at most {MAX_ACL_GRANTS} grants.")
    return grants, errors


CANONICAL_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# --- header-bound text: metadata, content headers, tags ------------------------------------------
# Values that end up in HTTP headers: "\Z", not "$" (which also matches before a final line break).
HEADER_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")  # RFC 9110 token: a header name
PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]*\Z")
# Only spaces or tabs around ";" in a content type, so CR/LF never reaches S3.
CONTENT_TYPE = re.compile(
    r"^[\w.+-]+/[\w.+-]+([ \t]*;[ \t]*[\w.+-]+=(\"[\x20-\x21\x23-\x7e]*\"|[\w.+-]+))*\Z", re.ASCII
)
# S3 tag keys and values: letters (any script), digits, spaces and + - = . _ : / @ (a plain space only).
TAG_TEXT = re.compile(r"^[\w +\-=.:/@]*\Z")
TAG_CHARACTERS = "letters, digits, spaces and + - = . _ : / @"


def tag_errors(pairs: list[tuple[str, str]], *, limit: int) -> list[str]:
    """S3's tag rules for (key, value) pairs, one message per problem (with the offending key)."""
    errors = []
    if len(pairs) > limit:
        errors.append(f"At most {limit} tags are allowed here; there are {len(pairs)}.")
    seen: set[str] = set()
    for key, value in pairs:
        shown = key[:40] + ("…" if len(key) > 40 else "")
        if not key:
            errors.append(f"The tag with the value “{value[:40]}” needs a key.")
        elif len(key) > MAX_TAG_KEY:
            errors.append(f"The tag key “{shown}” is longer than {MAX_TAG_KEY} characters.")
        if len(value) > MAX_TAG_VALUE:
            errors.append(f"The value of “{shown}” is longer than {MAX_TAG_VALUE} characters.")
        if key.lower().startswith("aws:"):
            errors.append(f"The tag key “{shown}” starts with “aws:”, which is reserved.")
        if not TAG_TEXT.match(key) or not TAG_TEXT.match(value):
            errors.append(f"The tag “{shown}” may contain only {TAG_CHARACTERS} (key and value).")
        if key and key in seen:
            errors.append(f"The tag key “{shown}” is used twice; keys must be unique.")
        seen.add(key)
    return errors


def metadata_errors(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """User metadata rows (name, value) → ({name: value} lowercased, errors)."""
    metadata: dict[str, str] = {}
    errors: list[str] = []
    for raw_name, value in pairs:
        name = raw_name.strip().lower().removeprefix("x-amz-meta-")
        if not name:
            errors.append(f"The metadata value “{value[:40]}” has no name.")
        elif not HEADER_TOKEN.match(name):
            errors.append(
                f"The metadata name “{name[:40]}” may only contain letters, digits and ! # $ % & ' * + - . ^ _ ` | ~ "
                "(no spaces, colons or other characters: it becomes an HTTP header name)."
            )
        elif name in metadata:
            errors.append(f"The metadata name “{name}” appears twice (names are case-insensitive).")
        elif not PRINTABLE_ASCII.match(value):
            errors.append(
                f"The value of “{name}” contains characters other than printable ASCII; S3 sends metadata as "
                "HTTP headers, so encode them first (e.g. percent-encoding)."
            )
        else:
            metadata[name] = value
    size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    if size > MAX_METADATA_BYTES:
        errors.append(
            f"User metadata is {size} bytes; S3 allows at most {MAX_METADATA_BYTES} bytes (names and values)."
        )
    return metadata, errors


# --- object keys -----------------------------------------------------------------------------------
# Characters no key the console writes may hold: control characters break headers, listings and
# checkboxes (browsers normalise line breaks in attribute values).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# Servers that store some keys under another name than the one sent (measured: see shared/S3-SERVERS.md).
# SeaweedFS keeps keys as file paths: "a\\b" becomes "a/b", "a//b" becomes "a/b", a body sent to "a/"
# is kept as an empty folder, and "." / ".." segments are refused.
KEY_REWRITING_SERVERS = ("SeaweedFS",)


def rewrites_keys(server: str) -> bool:
    return any(name.lower() in server.lower() for name in KEY_REWRITING_SERVERS)


def key_errors(key: str, *, what: str = "The object key", rewrites: bool = False, folder: bool = False) -> list[str]:
    """Why a key the console would write is refused; [] when it is fine.

    ``rewrites``: the endpoint stores some keys under another name (see ``rewrites_keys``): those keys
    are refused with the reason instead of being reported as written. ``folder``: the key names a folder
    marker (it ends with "/" on purpose)."""
    if not key:
        return [f"{what} is empty."]
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return [f"{what} is not valid text."]
    errors = []
    if size > MAX_KEY_BYTES:
        errors.append(f"{what} is longer than {MAX_KEY_BYTES:,} bytes of UTF-8.")
    if _CONTROL.search(key):
        errors.append(f"{what} contains control characters (such as line breaks or tabs).")
    if rewrites:
        errors += _rewritten(key, what, folder)
    return errors


def _rewritten(key: str, what: str, folder: bool) -> list[str]:
    errors = []
    if "\\" in key:
        errors.append(f"{what} contains “\\”, which this endpoint stores as “/”: use “/” or another character.")
    if "//" in key or key.startswith("/"):
        errors.append(f"{what} has an empty folder name (“//” or a leading “/”), which this endpoint drops.")
    segments = key.rstrip("/").split("/") if folder else key.split("/")
    if any(segment in (".", "..") for segment in segments):
        errors.append(f"{what} has a “.” or “..” folder name, which this endpoint refuses.")
    if key.endswith("/") and not folder:
        errors.append(f"{what} ends with “/”, which this endpoint keeps as an empty folder, not as a file.")
    return errors


# --- bucket names ------------------------------------------------------------------------------------
BUCKET_NAME_MIN, BUCKET_NAME_MAX = 3, 63
RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_BUCKET_CHAR = re.compile(r"[a-z0-9.-]")


def bucket_name_errors(name: str) -> list[str]:
    """Every naming rule of Amazon S3's general purpose buckets the name breaks, one sentence each."""
    errors: list[str] = []
    if not BUCKET_NAME_MIN <= len(name) <= BUCKET_NAME_MAX:
        errors.append(
            f"A bucket name must be {BUCKET_NAME_MIN} to {BUCKET_NAME_MAX} characters long (this one has {len(name)})."
        )
    bad = sorted({c for c in name if not _BUCKET_CHAR.fullmatch(c)})
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
    for prefix in RESERVED_BUCKET_PREFIXES:
        if name.startswith(prefix):
            errors.append(f"A bucket name must not start with “{prefix}”: that prefix is reserved.")
    for suffix in RESERVED_BUCKET_SUFFIXES:
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
    """prefix + "-" + uuid4, cut to 63 characters; the prefix lowercased and stripped of what S3 refuses.

    The prefix is kept to 50 characters so that at least 12 random hex digits remain.
    """
    clean = re.sub(r"[^a-z0-9.-]+", "-", prefix.strip().lower())
    clean = re.sub(r"\.{2,}", ".", clean).strip(".-")[:50].rstrip(".-")
    name = f"{clean}-{uuid.uuid4()}" if clean else str(uuid.uuid4())
    return name[:BUCKET_NAME_MAX].rstrip(".-")


# --- for the browser ------------------------------------------------------------------------------------
def browser_vocabulary() -> dict:
    """The limits the upload script checks before it asks the server (handed over with json_script)."""
    return {
        "maxKeyBytes": MAX_KEY_BYTES,
        "maxMetadataBytes": MAX_METADATA_BYTES,
        "maxObjectTags": MAX_OBJECT_TAGS,
        "maxTagKey": MAX_TAG_KEY,
        "maxTagValue": MAX_TAG_VALUE,
        "tagCharacters": TAG_CHARACTERS,
        "minPartSize": MIN_PART_SIZE,
        "maxParts": MAX_PARTS,
        "maxObjectSize": MAX_OBJECT_SIZE,
    }
