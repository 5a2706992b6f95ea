"""Exit 0 when the console on this host answers /healthz with 200, else 1 (the container's HEALTHCHECK).

    python deploy/healthcheck.py [URL]     # default: http://127.0.0.1:<port of GUNICORN_BIND>/healthz

It sends a Host header from ALLOWED_HOSTS, which Django checks before any view runs.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def default_url() -> str:
    bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")[0].strip()
    port = bind.rsplit(":", 1)[-1] if ":" in bind else "8000"
    return f"http://127.0.0.1:{port}/healthz"


def host_header() -> str:
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")  # ".example.com" allows example.com itself too
        if host and host != "*":
            return host
    return "localhost"


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else default_url()
    if not url.startswith(("http://", "https://")):
        print(f"{url}: not an http(s) URL", file=sys.stderr)
        return 2
    request = urllib.request.Request(url, headers={"Host": host_header()})  # noqa: S310 - checked above
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - a URL of this host
            print(response.read().decode())
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(exc.read().decode() or exc, file=sys.stderr)
    except OSError as exc:
        print(f"{url}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
