from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "S3 team console"

    def ready(self):
        # Signal receivers (two-factor state at login, CSP origins on endpoint changes).
        from console import checks, security  # noqa: F401
