from django.apps import AppConfig


class CorpbankConfig(AppConfig):
    name = "corpbank"
    verbose_name = "corpbank"
    default_auto_field = "django.db.models.BigAutoField"
