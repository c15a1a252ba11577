from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate

from corpbank.core.db import ensure_sqlite_triggers


def _ensure_triggers(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    ensure_sqlite_triggers(connections[using])


class CorpbankConfig(AppConfig):
    """The one Django app of the domain packages (their models are gathered in ``corpbank.models``).

    ``ready`` is the composition root: where a lower package needs something of a higher one, the higher
    one is plugged in here, so that imports run one way only (docs/architecture.md)."""

    name = "corpbank"
    verbose_name = "corpbank"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Domain modules import models, and Django loads this module before its models: they are imported
        # here, once the registry is ready (Django's documented place for this, AppConfig.ready).
        # Imported for its effect: its modules register the bank's four-eyes procedures on the engine.
        import corpbank.backoffice.services  # noqa: F401
        from corpbank.authorization import operations
        from corpbank.core import audit
        from corpbank.tokens import notices, otp

        post_migrate.connect(_ensure_triggers, sender=self)
        operations.use_one_time_password_check(otp.check_for_operation)
        audit.recorded.connect(notices.on_recorded, dispatch_uid="corpbank.tokens.notices")
