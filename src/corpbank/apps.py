from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _ensure_triggers(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    from corpbank.db import ensure_sqlite_triggers

    ensure_sqlite_triggers(connections[using])


class CorpbankConfig(AppConfig):
    name = "corpbank"
    verbose_name = "corpbank"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_ensure_triggers, sender=self)
