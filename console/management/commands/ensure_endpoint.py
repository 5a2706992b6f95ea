from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError

from console import crypto
from console.models import Endpoint


class Command(BaseCommand):
    help = "Register an S3 endpoint with an access key pair if no endpoint has that name (used by `make run`)."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="local")
        parser.add_argument("--url", required=True)
        parser.add_argument("--access-key", required=True)
        parser.add_argument(
            "--secret-key",
            default=os.environ.get("S3_SECRET_ACCESS_KEY", ""),
            help="default: $S3_SECRET_ACCESS_KEY (an argument shows in the shell history and in ps)",
        )
        parser.add_argument("--region", default="us-east-1")

    def handle(self, *args, name, url, access_key, secret_key, region, **options):
        if not secret_key:
            raise CommandError("Give the secret key in $S3_SECRET_ACCESS_KEY (or --secret-key).")
        endpoint = Endpoint.objects.filter(name=name).first()
        if endpoint is not None:
            if endpoint.access_key_id == access_key and self._secret_lost(endpoint):
                # The key that encrypted it changed (e.g. a checkout's first generated SECRET_KEY): store it again.
                endpoint.set_secret_access_key(secret_key)
                endpoint.save(update_fields=["secret_access_key_encrypted", "updated_at"])
                self.stdout.write(f"Endpoint '{name}' exists already; its secret key was stored again (new key).")
                return
            self.stdout.write(f"Endpoint '{name}' exists already.")
            return
        endpoint = Endpoint(
            name=name,
            url=url,
            region=region,
            addressing_style=Endpoint.Addressing.PATH,
            credential_source=Endpoint.CredentialSource.KEYS,
            access_key_id=access_key,
        )
        endpoint.set_secret_access_key(secret_key)
        endpoint.save()
        self.stdout.write(self.style.SUCCESS(f"Registered endpoint '{name}' at {url}."))

    @staticmethod
    def _secret_lost(endpoint: Endpoint) -> bool:
        try:
            endpoint.get_secret_access_key()
        except crypto.DecryptionError:
            return True
        return False
