"""Notifications by mail (R-I4): the organization's contact address (the application's 連絡先メール
アドレス) hears of every event on its one-time-password tokens, so that a registration, revocation or
stop it did not expect is noticed. Sent through SMTP after the act commits, from the one sender (R-E11).

Which events notify is one table, keyed by the audit action: audit.record (and record_with) sends
every event it writes to ``on_recorded`` (the signal audit.recorded, connected in corpbank.apps), so a
notice exists exactly when the audited act does. Transfers and certificates will add their rows when
they arrive."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from corpbank.core import mail
from corpbank.core.models import AuditEvent
from corpbank.organizations.models import Contract, CustomerUser, Organization

Label = Callable[[AuditEvent], str | None]


def _always(text: Promise) -> Label:
    return lambda event: str(text)


def _for_tokens(text: Promise) -> Label:
    """A lockout event concerns a token when it is about OTPs (stopped) or a token principal (lifted)."""
    return lambda event: (
        str(text) if event.details.get("kind") == "otp" or event.details.get("principal") == "token" else None
    )


TOKEN_NOTICES: dict[str, Label] = {
    "token.registered": _always(gettext_lazy("ワンタイムパスワードの利用登録")),
    "token.revoked": _always(gettext_lazy("パスワード生成機の失効")),
    "token.reported_lost": _always(gettext_lazy("パスワード生成機の紛失による利用停止")),
    "principal.suspended": _for_tokens(gettext_lazy("ワンタイムパスワードの利用停止（連続した誤入力）")),
    "principal.lock_lifted": _for_tokens(gettext_lazy("ワンタイムパスワードの利用停止解除")),
    "softtoken.issued": _always(gettext_lazy("ソフトウェアトークンの発行")),
    "softtoken.provisioned": _always(gettext_lazy("ソフトウェアトークンアプリの初期設定")),
    "softtoken.activated": _always(gettext_lazy("ソフトウェアトークンの利用開始")),
    "softtoken.stopped": _always(gettext_lazy("ソフトウェアトークンの利用停止")),
    "softtoken.cancelled": _always(gettext_lazy("ソフトウェアトークンのご利用解除")),
}


def _recipient(contract_id: int, user_id: int | None) -> tuple[str, str, str]:
    """(organization's name, its contact address, the user as the notice names them) in one plain
    statement: a notice follows every token registration (bench/otp.py), where the ORM's two compiled
    queries cost more CPU than the database's work."""
    organization, contract, user = (model._meta.db_table for model in (Organization, Contract, CustomerUser))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT o.name, o.notification_email, u.login_id, u.name FROM {contract} c"  # noqa: S608 - names
            f" JOIN {organization} o ON o.id = c.organization_id LEFT JOIN {user} u ON u.id = %s"
            " WHERE c.id = %s",
            [user_id, contract_id],
        )
        row = cursor.fetchone()
    if row is None:
        return "", "", ""
    name, address, login_id, user_name = row
    return name, address, f"{login_id or ''} {user_name}".strip() if user_name is not None else ""


def on_recorded(sender: type[AuditEvent], *, event: AuditEvent, **kwargs: object) -> None:
    """Receives audit.recorded inside the act's transaction: queue the mail for after the commit."""
    label_of = TOKEN_NOTICES.get(event.action)
    if label_of is None or event.contract_id is None:
        return
    label = label_of(event)
    if label is None:
        return
    organization, address, user = _recipient(event.contract_id, event.subject_user_id)
    if not address:
        return
    mail.send_after_commit(
        to=address,
        subject=_("【%(bank)s】ワンタイムパスワードに関するお知らせ（%(event)s）")
        % {"bank": settings.CORPBANK_BANK_NAME, "event": label},
        body=render_to_string(
            "corpbank/mail/token_notice.txt",
            {
                "organization": organization,
                "event": label,
                "at": timezone.localtime(event.at).strftime("%Y/%m/%d %H:%M"),
                "user": user,
                "serial": event.details.get("serial", ""),
                "bank_name": settings.CORPBANK_BANK_NAME,
                "helpdesk": settings.CORPBANK_HELPDESK_PHONE,
                "sender": mail.sender(),
            },
        ),
    )
