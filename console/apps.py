from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "S3 team console"

    def ready(self):
        # Signal receivers (two-factor state at login, CSP origins on endpoint changes, sign-ins audited), checks.
        from buckets import s3
        from console import auth_events, checks, metrics, postgres, security  # noqa: F401

        postgres.connect()  # timestamptz read in C on PostgreSQL (console/postgres.py)

        s3.on_new_client(metrics.instrument_s3_client)
