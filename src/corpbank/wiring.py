"""The composition root: where a lower package needs something of a higher one, the higher one is
plugged in here, so that imports run one way only (docs/architecture.md). ``CorpbankConfig.ready``
imports this module once Django's app registry is ready (its modules import models) and calls
``connect``."""

from __future__ import annotations

# Imported for its effect: its modules register the bank's four-eyes procedures on the approval engine.
import corpbank.backoffice.services  # noqa: F401
from corpbank.authorization import operations
from corpbank.core import audit
from corpbank.tokens import notices, otp


def connect() -> None:
    """The operations' one-time password is the tokens' (authorization is below tokens), and the audit
    log's events reach the tokens' notices (core is below tokens)."""
    operations.use_one_time_password_check(otp.check_for_operation)
    audit.recorded.connect(notices.on_recorded, dispatch_uid="corpbank.tokens.notices")
