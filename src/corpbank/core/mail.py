"""Mail to customers through SMTP (R-I4), always from the one fixed sender address (R-E11).

A mail about an act is sent only once the act's transaction has committed, so a rolled-back act never
mails anybody."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

logger = logging.getLogger(__name__)


def sender() -> str:
    return str(settings.DEFAULT_FROM_EMAIL)


def send_after_commit(*, to: str, subject: str, body: str) -> None:
    def send() -> None:
        try:
            send_mail(subject, body, sender(), [to], fail_silently=False)
        except OSError:
            # The act stands; the failure is logged (without the body, which may name a person).
            logger.exception("mail to %s could not be sent: %s", to.split("@")[-1], subject)

    transaction.on_commit(send)
