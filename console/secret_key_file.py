"""The development SECRET_KEY that `make run` keeps in `var/secret_key` (mode 0600).

A checkout that `make run` set up then runs any `manage.py` command (createsuperuser,
audit_verify, ...) without typing DEBUG=1 or a key: settings read this file when the environment
gives no SECRET_KEY. Production sets SECRET_KEY (the same on every instance), and then this file
is never read; `check --deploy` warns when a DEBUG=0 process took its key from here.

Imported by the settings module: nothing from Django here.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

NAME = "secret_key"


class KeyFileError(Exception):
    """The key file exists but cannot be used (unreadable, empty, readable by others)."""


def read(path: Path) -> str:
    """The key in the file, or "" when there is no file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return ""
    if stat.S_IMODE(mode) & 0o077:
        raise KeyFileError(f"{path} is readable by other users: make it private (chmod 600 {path}).")
    try:
        key = path.read_text().strip()
    except OSError as exc:
        raise KeyFileError(f"{path} cannot be read: {exc.strerror}.") from None
    if len(key) < 50:
        raise KeyFileError(f"{path} holds no key of at least 50 characters: delete it and run `make run` again.")
    return key


def ensure(path: Path) -> str:
    """The key in the file; a new random one, written with mode 0600, when there is none yet."""
    if key := read(path):
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting at once do not overwrite each other's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read(path)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key
