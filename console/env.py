"""Reading settings from environment variables (console/settings.py): typed values that fail loudly on a
bad one, and the settings blocks that need more than one line of reading or checking."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from console import secret_key_file

INSECURE_SECRET_KEY = "django-insecure-dev-key-change-me"
LDAP_GROUP_TYPES = (
    "groupOfNames",
    "nestedGroupOfNames",
    "groupOfUniqueNames",
    "nestedGroupOfUniqueNames",
    "posixGroup",
    "activeDirectory",
    "nestedActiveDirectory",
)
T = TypeVar("T", int, float)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def _number(name: str, default: T, parse: Callable[[str], T], what: str) -> T:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        return parse(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {what}, not {value!r}") from None


def envint(name: str, default: int) -> int:
    return _number(name, default, int, "an integer")


def envfloat(name: str, default: float) -> float:
    return _number(name, default, float, "a number")


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def networks(name: str) -> list[str]:
    """A comma-separated list of addresses or networks (``10.0.0.0/8``), each checked."""
    values = envlist(name)
    for network in values:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {network!r} is not an address or network") from None
    return values


def secret_key(*, debug: bool, key_file: Path) -> tuple[str, bool]:
    """SECRET_KEY, and whether it was read from ``key_file``.

    Without SECRET_KEY in the environment: the key `make run` wrote into var/ (a development checkout),
    so manage.py commands there work without DEBUG=1. No file and DEBUG=0 is a production
    misconfiguration and stops here; `check --deploy` warns when a DEBUG=0 process uses the file.
    """
    key, from_file = os.environ.get("SECRET_KEY", ""), False
    if not key:
        try:
            key = secret_key_file.read(key_file)
        except secret_key_file.KeyFileError as exc:
            raise ImproperlyConfigured(f"SECRET_KEY is not set and {exc}") from None
        from_file = bool(key)
    if not key:
        if not debug:
            raise ImproperlyConfigured(
                "SECRET_KEY is not set. Give a long random SECRET_KEY (production), or run `make run` once "
                f"in this checkout (it writes {key_file}), or set DEBUG=1 for development."
            )
        return INSECURE_SECRET_KEY, False
    if not debug and (key == INSECURE_SECRET_KEY or len(key) < 50):
        raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 50 characters.")
    return key, from_file


def database(default_url: str) -> dict:
    """The default database from DATABASE_URL (else ``default_url``), with SQLite set up for two writers."""
    db = dj_database_url.parse(
        os.environ.get("DATABASE_URL") or default_url,
        # Connections are kept between requests (a new PostgreSQL connection costs ~5 ms) and checked
        # before reuse. Each gunicorn thread holds one: workers x threads x instances in all.
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # The worker and the web process write at the same time: wait instead of failing.
        db.setdefault("OPTIONS", {})["timeout"] = 20
        db["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
        # WAL: readers never wait for the writer; NORMAL sync is safe with WAL and spares an fsync per commit.
        db["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    return db


def check_ldap(*, group_type: str, group_search_base: str, user_dn_template: str, user_search_base: str) -> None:
    """With LDAP_SERVER_URI set: a known group type, where the groups are, and how users are found."""
    if group_type not in LDAP_GROUP_TYPES:
        raise ImproperlyConfigured(f"LDAP_GROUP_TYPE must be one of {', '.join(LDAP_GROUP_TYPES)}")
    if not group_search_base:
        raise ImproperlyConfigured("LDAP_SERVER_URI is set: set LDAP_GROUP_SEARCH_BASE too (groups give the roles).")
    if not (user_dn_template or user_search_base):
        raise ImproperlyConfigured("LDAP_SERVER_URI is set: set LDAP_USER_SEARCH_BASE or LDAP_USER_DN_TEMPLATE too.")


def logging_config(level: str) -> dict:
    """To standard error at ``level``; the chatty libraries at WARNING. Secrets never reach it (the S3
    module logs codes, not credentials)."""
    quiet = ("botocore", "boto3", "urllib3", "axes", "django_auth_ldap")  # axes: not one line per login
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"console": {"class": "logging.StreamHandler"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {name: {"level": "WARNING"} for name in quiet},
    }
