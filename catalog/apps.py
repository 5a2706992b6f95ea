from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Bucket index, search and analytics"
    default_auto_field = "django.db.models.BigAutoField"
