"""Helpers of the object tests (browse, object page, versions): seeding, links in pages, presigned fetches."""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from django.urls import reverse

# Keys users really have. SeaweedFS refuses a path segment that is exactly ".." (InvalidRequest) and turns "//"
# and "\\" into "/", so those are exercised against moto (tests/test_objects_browse.py), the rest against SeaweedFS.
AWKWARD_KEYS = [
    "spaces and+plus%percent#hash?question&amp.txt",
    "ünïcödé/日本語 ファイル.txt",
    "..hidden",
    "dots/..notparent",
    "<script>alert(1)</script>.html",
    "quote\"and'apostrophe.txt",
    "dir/",
    # 1,024 bytes; SeaweedFS limits one path segment to 255 bytes in unversioned buckets.
    "long/" + ("d" * 200 + "/") * 4 + "f" * 215,
]


def folder_of(key: str) -> str:
    """The prefix whose listing shows the key (a key ending in "/" shows as that folder's own object)."""
    return key if key.endswith("/") else key.rpartition("/")[0] + "/" * ("/" in key)


def fast_client(seaweed):
    """A raw client with enough connections for a pool of 16 threads (for seeding only)."""
    return boto3.client(
        "s3",
        endpoint_url=seaweed.url,
        aws_access_key_id=seaweed.ids.access_key,
        aws_secret_access_key=seaweed.ids.secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=32, retries={"max_attempts": 4}),
    )


def put_many(client, bucket: str, keys: list[str], body: bytes = b"x") -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: client.put_object(Bucket=bucket, Key=k, Body=body), keys))


def url(name: str, endpoint, bucket: str, **query) -> str:
    base = reverse(name, args=[endpoint.pk, bucket])
    return f"{base}?{urllib.parse.urlencode(query)}" if query else base


def section_url(verb: str, slug: str, endpoint, bucket: str, **query) -> str:
    """A URL of one object-page section: verb "show", "edit", "save" or "remove"; slug "metadata", "tags"…"""
    name = "object_section" + ("" if verb == "show" else f"_{verb}")
    base = reverse(name, args=[endpoint.pk, bucket, slug])
    return f"{base}?{urllib.parse.urlencode(query)}" if query else base


def links(page: str) -> list[str]:
    """Every href of a page, unescaped as the browser would."""
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', page)]


def link(page: str, text: str) -> str:
    """The href of the <a> whose text is ``text``."""
    for match in re.finditer(r'<a [^>]*href="([^"]*)"[^>]*>([^<]*)</a>', page):
        if match.group(2).strip() == text:
            return html.unescape(match.group(1))
    raise AssertionError(f"No link “{text}” in the page")


def query_of(href: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(href).query, keep_blank_values=True))


def fetch(presigned: str) -> tuple[int, dict, bytes]:
    """GET a presigned URL as a browser would: (status, headers, body)."""
    try:
        with urllib.request.urlopen(presigned, timeout=10) as answer:  # noqa: S310 - the test server's URL
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def s3_calls(counts) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


def allow_acls(client, bucket: str) -> None:
    """Object ownership "object writer": ACLs can be edited (SeaweedFS buckets start as "bucket owner enforced")."""
    client.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
