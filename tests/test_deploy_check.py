"""Production readiness: `check --deploy` clean, no pending migrations, security headers and the CSP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from console import security
from console.models import Endpoint

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "a-production-secret-key-" + "Zq9#x7!" * 8,
    "ALLOWED_HOSTS": "console.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_COOKIES": "1",
}


def manage(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}}
    full.update({"CONSOLE_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "console.settings", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path, **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_names_what_is_missing_without_the_secure_settings(tmp_path):
    env = {**PRODUCTION_ENV, "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "0", "SECURE_COOKIES": "0"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path, **env)
    assert result.returncode != 0
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in result.stderr + result.stdout


def test_no_migrations_are_pending(tmp_path):
    result = manage("makemigrations", "--check", "--dry-run", tmp_path=tmp_path, DEBUG="1")
    assert result.returncode == 0, "models changed without a migration:\n" + result.stdout + result.stderr


# --- headers --------------------------------------------------------------------------------------


def csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_security_headers_and_a_csp_without_inline_script(admin_client, endpoint):
    response = admin_client.get(reverse("dashboard"))
    policy = csp(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"] and policy["object-src"] == ["'none'"]
    # Previews and uploads go straight to the endpoint.
    assert endpoint.url in policy["img-src"] and endpoint.url in policy["connect-src"]
    assert "data:" in policy["img-src"], "the 2FA QR code is an inline SVG image"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    login_page = admin_client.get(reverse("login"), follow=False)
    assert "Content-Security-Policy" in login_page


def test_csp_follows_the_configured_endpoints(admin_client, db):
    aws = Endpoint.objects.create(name="aws", url="")
    minio = Endpoint.objects.create(name="minio", url="https://minio.example.com:9000", addressing_style="virtual")
    policy = csp(admin_client.get(reverse("dashboard")))
    for directive in ("img-src", "connect-src", "media-src"):
        assert "https://*.amazonaws.com" in policy[directive]
        assert "https://minio.example.com:9000" in policy[directive]
        assert "https://*.minio.example.com:9000" in policy[directive], "virtual-hosted buckets are subdomains"
    aws.delete()
    minio.delete()
    policy = csp(admin_client.get(reverse("dashboard")))
    assert "https://*.amazonaws.com" not in policy["connect-src"], "a removed endpoint is no longer allowed"


@pytest.mark.parametrize(
    ("url", "style", "expected"),
    [
        ("", "auto", ["https://*.amazonaws.com"]),
        ("http://127.0.0.1:8333", "auto", ["http://127.0.0.1:8333"]),
        ("http://localhost:9000/", "virtual", ["http://localhost:9000"]),
        ("https://s3.example.com", "path", ["https://s3.example.com"]),
        ("https://s3.example.com/", "auto", ["https://s3.example.com", "https://*.s3.example.com"]),
        ("http://[::1]:9000", "auto", ["http://[::1]:9000"]),
        ("ftp://nope", "auto", []),
    ],
)
def test_origins_for(url, style, expected):
    assert security.origins_for(url, style) == expected


def test_pages_have_no_inline_script_or_style(admin_client, admin_user, endpoint, django_user_model):
    """What the CSP would block in a browser: inline <script>, on*= handlers, style= attributes."""
    other = django_user_model.objects.create_user("someone", password="pw-someone-123456")
    urls = [
        reverse("login"),
        reverse("dashboard"),
        reverse("user_list"),
        reverse("user_create"),
        reverse("user_detail", args=[other.pk]),
        reverse("group_create"),
        reverse("otp_setup"),
        reverse("bucket_access", args=[endpoint.pk, "some-bucket"]),
    ]
    for url in urls:
        html = admin_client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script on {url}"
        assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler on {url}"
        assert not re.search(r"\sstyle\s*=", html), f"inline style on {url}"


# python-ldap has no wheel on PyPI: pip compiles it in the image, against these Debian packages, and
# it links to their run-time libraries. (Checked by hand in a debootstrapped bookworm; no Docker
# daemon here.)
SOURCE_BUILDS = {
    "python-ldap": ({"gcc", "python3-dev", "libldap2-dev", "libsasl2-dev"}, {"libldap-2.5-0", "libsasl2-2"})
}


def _stages(dockerfile: str) -> list[dict]:
    """Each FROM of the Dockerfile: its name and the Debian packages its RUN lines install."""
    stages = []
    for chunk in re.split(r"^FROM ", dockerfile, flags=re.M)[1:]:
        text = chunk.replace("\\\n", " ")
        installed = set()
        for found in re.findall(r"apt-get install ([^&\n]*)", text):
            installed |= {word for word in found.split() if not word.startswith("-")}
        stages.append({"from": chunk.split("\n", 1)[0], "packages": installed, "text": text})
    return stages


def test_the_dockerfile_builds_what_has_no_wheel_and_ships_its_libraries():
    requirements = (ROOT / "requirements.txt").read_text()
    runtime_part = requirements.split("# tests, lint and benchmarks")[0]
    stages = _stages((ROOT / "Dockerfile").read_text())
    build, image = stages[0], stages[-1]
    assert all(stage["from"].startswith("debian:") for stage in stages), "Debian only"
    assert "pip install" in build["text"] and "COPY --from=build /app/.venv /app/.venv" in image["text"]
    for package, (build_deps, runtime_libs) in SOURCE_BUILDS.items():
        if re.search(rf"^{package}==", runtime_part, re.M):
            assert build_deps <= build["packages"], f"{package} compiles in the build stage"
            assert runtime_libs <= image["packages"], f"{package} needs its libraries in the image"
    assert not {"gcc", "python3-dev"} & image["packages"], "no compiler in the image"
