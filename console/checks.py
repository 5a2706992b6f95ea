"""System checks of the console's own production settings (`manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def secret_key_from_the_checkout(app_configs, **kwargs):
    if getattr(settings, "SECRET_KEY_FROM_FILE", False):
        return [
            checks.Warning(
                f"SECRET_KEY is read from {settings.SECRET_KEY_FILE}, the key `make run` generates for a "
                "development checkout.",
                hint="In production set SECRET_KEY (and CONSOLE_ENCRYPTION_KEY), the same on every instance.",
                id="console.W001",
            )
        ]
    return []
