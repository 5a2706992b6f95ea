"""Memory of the console during a 1 GiB upload through the fallback (parts through the console).

A separate console process (`manage.py runserver --noreload`, threaded, on the bench's database)
receives the file part by part, 4 parts at a time as the browser sends them, and passes each on
to SeaweedFS with UploadPart. Its peak resident memory (VmHWM in /proc/<pid>/status) is read before
and after. Goal: under 150 MB; the console holds only the parts in flight, never the file.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, admin_client, check, seaweed, setup_django  # noqa: E402

MiB = 1024 * 1024
SIZE = 1024 * MiB
PARALLEL = 4  # as the browser
GOAL_MB = 150


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc status")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_console(port: int) -> subprocess.Popen:
    # The bench's environment (DJANGO_SETTINGS_MODULE, CONSOLE_VAR_DIR, SECRET_KEY) points at the same database.
    command = [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"]
    env = {**os.environ, "SECURE_COOKIES": "0"}  # plain http on loopback: cookies must not be Secure-only
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the console server did not start")


def browser_session(base: str):
    """A requests session that carries a logged-in session cookie and a CSRF token, like the page."""
    import requests

    client = admin_client()  # force_login writes the session to the shared database
    csrf = secrets.token_hex(16)  # 32 characters: a CSRF secret the cookie and header both carry
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value, domain="127.0.0.1")
    session.cookies.set("csrftoken", csrf, domain="127.0.0.1")
    session.headers.update({"X-CSRFToken": csrf, "Referer": base + "/"})
    session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=PARALLEL, pool_maxsize=PARALLEL))
    return session


def main() -> None:
    setup_django()
    with seaweed() as server, tempfile.TemporaryDirectory(prefix="s3console-bench-fallback-") as tmp:
        endpoint = server.endpoint()
        server.boto3_client().create_bucket(Bucket="bench-fallback")
        path = Path(tmp) / "one-gib.bin"
        with open(path, "wb") as fh:
            for _ in range(SIZE // (64 * MiB)):
                fh.write(os.urandom(64 * MiB))

        port = free_port()
        proc = start_console(port)
        base = f"http://127.0.0.1:{port}"
        urls = {
            name: f"{base}/b/{endpoint.pk}/bench-fallback/upload/{name}/"
            for name in ("start", "part", "complete", "panel")
        }
        try:
            session = browser_session(base)
            session.get(urls["panel"], timeout=30).raise_for_status()  # warm up: imports, first S3 client
            idle = vm_hwm_kib(proc.pid)

            started = time.perf_counter()
            answer = session.post(
                urls["start"], data=json.dumps({"key": "fallback.bin", "size": SIZE, "method": "fallback"}), timeout=30
            )
            answer.raise_for_status()
            plan = answer.json()
            part_size, token = plan["part_size"], plan["token"]

            def send(number: int) -> dict:
                with open(path, "rb") as fh:
                    fh.seek((number - 1) * part_size)
                    body = fh.read(part_size)
                headers = {"Content-Type": "application/octet-stream", "X-Upload-Token": token}
                reply = session.post(f"{urls['part']}?part={number}", data=body, headers=headers, timeout=120)
                reply.raise_for_status()
                return {"part": number, "etag": reply.json()["etag"]}

            with ThreadPoolExecutor(PARALLEL) as pool:
                parts = list(pool.map(send, range(1, plan["part_count"] + 1)))
            body = json.dumps({"token": token, "parts": parts, "method": "fallback"})
            session.post(urls["complete"], data=body, timeout=120).raise_for_status()
            elapsed = time.perf_counter() - started
            peak = vm_hwm_kib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

        size = server.boto3_client().head_object(Bucket="bench-fallback", Key="fallback.bin")["ContentLength"]
        assert size == SIZE, f"uploaded {size} bytes"
        print(f"1 GiB through the console ({plan['part_count']} parts of {part_size // MiB} MiB, {PARALLEL} at a time)")
        print(f"  throughput: {SIZE / MiB / elapsed:.1f} MiB/s")
        print(f"  console peak RSS (VmHWM): idle {idle / 1024:.1f} MB, after the upload {peak / 1024:.1f} MB")
        met = check("console peak RSS after a 1 GiB upload vs the memory goal", peak / 1024, GOAL_MB, at_most=1,
                    unit="MB")  # fmt: skip
        sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
