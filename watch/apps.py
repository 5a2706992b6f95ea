from django.apps import AppConfig


class WatchConfig(AppConfig):
    """Drift detection (changes made outside the console) and alert rules over the audit trail."""

    name = "watch"
    verbose_name = "Drift and alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from console import audit
        from watch.services import alerts

        if alerts.event_recorded not in audit.RECORD_HOOKS:
            audit.RECORD_HOOKS.append(alerts.event_recorded)
