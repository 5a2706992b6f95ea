"""The SECRET_KEY `make run` keeps in var/: manage.py works in that checkout; production never uses it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from console import secret_key_file

ROOT = Path(__file__).resolve().parent.parent
PRINT_KEY = "from django.conf import settings; print(settings.SECRET_KEY, settings.DEBUG)"


def manage(*args: str, var: Path, **env: str) -> subprocess.CompletedProcess:
    """manage.py as a newcomer types it: no DEBUG, no SECRET_KEY, the checkout's settings."""
    drop = {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "ALLOWED_HOSTS"}
    full = {k: v for k, v in os.environ.items() if k not in drop}
    full.update({"CONSOLE_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "console.settings", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120
    )


def test_ensure_writes_a_private_random_key_once(tmp_path):
    path = tmp_path / "var" / "secret_key"
    key = secret_key_file.ensure(path)
    assert len(key) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key_file.ensure(path) == key == secret_key_file.read(path)
    assert secret_key_file.ensure(tmp_path / "other" / "secret_key") != key


def test_a_key_file_others_can_read_is_refused(tmp_path):
    path = tmp_path / "secret_key"
    secret_key_file.ensure(path)
    path.chmod(0o644)
    with pytest.raises(secret_key_file.KeyFileError, match="chmod 600"):
        secret_key_file.read(path)
    result = manage("check", var=tmp_path)
    assert result.returncode != 0
    assert "readable by other users" in result.stderr


def test_without_key_or_file_production_settings_refuse_to_start(tmp_path):
    result = manage("check", var=tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "secret_key").exists(), "nothing is generated outside make run"


def test_in_a_checkout_make_run_set_up_manage_py_just_works(tmp_path):
    key = secret_key_file.ensure(tmp_path / "secret_key")  # what console_run does on the first `make run`
    assert manage("migrate", "--noinput", var=tmp_path).returncode == 0
    result = manage("audit_verify", var=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    result = manage(
        "createsuperuser",
        "--noinput",
        var=tmp_path,
        DJANGO_SUPERUSER_USERNAME="newcomer",
        DJANGO_SUPERUSER_PASSWORD="a-long-password-4",
        DJANGO_SUPERUSER_EMAIL="n@example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The key is the file's, and DEBUG stays off (it is only on where make run turns it on).
    result = manage("shell", "--no-imports", "-c", PRINT_KEY, var=tmp_path)
    assert result.stdout.split() == [key, "False"], result.stderr
    # A production check flags the development key.
    result = manage("check", "--deploy", var=tmp_path)
    assert "console.W001" in result.stdout + result.stderr


def test_a_secret_key_in_the_environment_wins_over_the_file(tmp_path):
    secret_key_file.ensure(tmp_path / "secret_key")
    production_key = "a-production-secret-key-" + "Zq9#x7!" * 8
    result = manage("shell", "--no-imports", "-c", PRINT_KEY, var=tmp_path, DEBUG="0", SECRET_KEY=production_key)
    assert result.stdout.split() == [production_key, "False"], result.stderr
    result = manage("check", "--deploy", var=tmp_path, DEBUG="0", SECRET_KEY=production_key)
    assert "console.W001" not in result.stdout + result.stderr
