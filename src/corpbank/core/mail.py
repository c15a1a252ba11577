"""Mail to customers through SMTP (R-I4), always from the one fixed sender address (R-E11).

A mail about an act is sent only once the act's transaction has committed, so a rolled-back act never
mails anybody. ``make run`` prints the mail in its terminal instead (:class:`ConsoleEmailBackend`)."""

from __future__ import annotations

import email
import email.policy
import logging

from django.conf import settings
from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends import console
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


class ConsoleEmailBackend(console.EmailBackend):
    """Django's console backend, readable: the headers decoded (Django's prints a Japanese subject
    MIME-encoded, ``=?utf-8?b?...?=``) and the text body as text, not base64 or quoted-printable.
    For the demo and development (``make run``); a bank sends through SMTP."""

    HEADERS = ("Subject", "From", "To", "Cc", "Reply-To", "Date")

    def write_message(self, message: EmailMessage) -> None:
        parsed = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
        for name in self.HEADERS:
            if parsed[name] is not None:
                self.stream.write(f"{name}: {str(parsed[name]).strip()}\n")
        body = parsed.get_body(preferencelist=("plain",))
        self.stream.write("\n")
        self.stream.write(str(body.get_content()) if body is not None else str(message.body))
        self.stream.write("\n" + "-" * 79 + "\n")
