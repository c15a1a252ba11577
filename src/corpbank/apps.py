from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate

from corpbank.core.db import ensure_sqlite_triggers


def _ensure_triggers(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    ensure_sqlite_triggers(connections[using])


class CorpbankConfig(AppConfig):
    """The one Django app of the domain packages (their models are gathered in ``corpbank.models``).

    ``ready`` plugs in the composition root, ``corpbank.wiring`` (docs/architecture.md)."""

    name = "corpbank"
    verbose_name = "corpbank"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The one import Django asks to be made here (AppConfig.ready): the wiring's modules import
        # models, and Django loads this module before its models are ready.
        from corpbank import wiring

        post_migrate.connect(_ensure_triggers, sender=self)
        wiring.connect()
