"""What `make run` runs: migrate, embedded S3, first admin, task worker, web server; Ctrl-C stops all."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from console import embedded_s3, secret_key_file
from console.env import envbool, envint
from console.management.stopping import stop_on_signals


class Command(BaseCommand):
    help = "Set up and serve the console with its embedded S3 server and background worker."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("CONSOLE_ADDR", "127.0.0.1:8000"))

    def handle(self, *args, addr, **options):
        children: list[tuple[str, subprocess.Popen]] = []
        stopped = stop_on_signals()
        try:
            settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
            self._ensure_secret_key()
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("Database ready.")
            if envbool("EMBEDDED_S3", True):
                children.append(("SeaweedFS", self._start_s3()))
            call_command("ensure_admin")
            manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
            children.append(
                ("task worker", subprocess.Popen([*manage, "console_worker", "--no-reload"], start_new_session=True))
            )
            children.append(("scheduler", subprocess.Popen([*manage, "console_scheduler"], start_new_session=True)))
            children.append(
                ("web server", subprocess.Popen([*manage, "runserver", addr, "--noreload"], start_new_session=True))
            )
            self.stdout.write(self.style.SUCCESS(f"Console on http://{addr}/  (Ctrl-C stops everything)"))
            while not stopped.is_set():
                for name, proc in children:
                    if proc.poll() is not None:
                        raise CommandError(f"The {name} stopped (exit code {proc.returncode}).")
                time.sleep(0.5)
        finally:
            for name, proc in reversed(children):
                self.stdout.write(f"Stopping the {name}…")
                embedded_s3.stop(proc)
            self.stdout.write("Stopped.")

    def _ensure_secret_key(self) -> None:
        """Keep a generated SECRET_KEY in var/ so that manage.py commands here work without DEBUG=1."""
        if os.environ.get("SECRET_KEY") or settings.SECRET_KEY_FROM_FILE:
            return
        key = secret_key_file.ensure(settings.SECRET_KEY_FILE)
        # This process read its settings before the file existed; its children read the file.
        settings.SECRET_KEY, settings.SECRET_KEY_FROM_FILE = key, True
        self.stdout.write(f"Generated a SECRET_KEY for this checkout in {settings.SECRET_KEY_FILE}.")

    def _start_s3(self) -> subprocess.Popen:
        var = settings.VAR_DIR
        port = envint("EMBEDDED_S3_PORT", 8333)
        ids = embedded_s3.ensure_identities(var / "s3-identities.json")
        # A SeaweedFS that is still shutting down (it takes up to ~12 s) frees its ports soon.
        for _ in range(30):
            if embedded_s3.ports_free(port):
                break
            time.sleep(0.5)
        if not embedded_s3.ports_free(port):
            raise CommandError(
                f"Ports of the embedded S3 server (from {port}) are in use; set EMBEDDED_S3_PORT to another base port."
            )
        proc = embedded_s3.start(var / "s3-data", var / "s3-identities.json", port, log_file=var / "seaweedfs.log")
        url = f"http://127.0.0.1:{port}"
        try:
            embedded_s3.wait_ready(url, proc)
        except RuntimeError as exc:
            embedded_s3.stop(proc)
            raise CommandError(f"{exc} See {var / 'seaweedfs.log'}.") from None
        self.stdout.write(f"Embedded S3 (SeaweedFS) on {url}, data in {var / 's3-data'}.")
        call_command("ensure_endpoint", name="local", url=url, access_key=ids.access_key, secret_key=ids.secret_key)
        return proc
