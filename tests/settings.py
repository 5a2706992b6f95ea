"""Test settings: the real settings with a fast hasher and the immediate task backend by default."""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 60)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("SECURE_COOKIES", "0")

from console.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise looks for files per request instead of scanning STATIC_ROOT at start (there is none before
# collectstatic); test_production.py runs the manifest storage for real, under gunicorn.
WHITENOISE_AUTOREFRESH = True
# The endpoints' origins for the CSP header are refreshed by signals only: no query appears mid-test.
CSP_ENDPOINT_ORIGINS_TTL = 0
# SQLite: a test database in a file, not Django's shared in-memory one. With the in-memory database
# the live server's threads (browser tests) share one connection, and two requests writing at once
# (two uploads completing together) fail with "database table is locked"; with a file each thread
# has its own connection and waits for the other, as in production. One file per process (xdist).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"s3console-test-{os.getpid()}.sqlite3")
    }
