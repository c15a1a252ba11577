"""What the paper procedures share to show an entry to the operator who decides it (engine.Detail):
labelled rows, the contract's master, a person's access state, amounts and dates as the bank writes
them. Reads only; never a secret, not even a hash. And the refusal of an approval given without the
confirmation that the entry was read (「内容を確認しました」), which the screen and the API both ask for."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Choices
from django.utils import dateformat, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from corpbank.approvals.engine import Detail
from corpbank.core.errors import ValidationFailed
from corpbank.identity.models import Principal
from corpbank.organizations.models import Contract, CustomerUser


def row(name: str, label: str | Promise, value: str | Promise, before: str | Promise | None = None) -> Detail:
    return Detail(
        name=name, label=str(label), value=str(value), before=None if before is None else str(before)
    )


def choice(choices: type[Choices], value: object) -> str:
    """The label of a choice; the value itself if it is none of them (an entry older than a choice)."""
    for known, label in choices.choices:
        if known == value:
            return str(label)
    return str(value)


def yen(amount: int) -> str:
    return _("%(amount)s円") % {"amount": f"{amount:,}"}


def when(moment: datetime) -> str:
    return dateformat.format(timezone.localtime(moment), "Y/m/d H:i")


def person(user: CustomerUser | None) -> str:
    if user is None:
        return _("（見つかりません）")
    if user.login_id:
        return _("%(name)s（ログインID %(login_id)s）") % {"name": user.name, "login_id": user.login_id}
    return _("%(name)s（ログインID未登録）") % {"name": user.name}


def current_master(contract: Contract | None) -> CustomerUser | None:
    if contract is None:
        return None
    return (
        CustomerUser.objects.filter(contract=contract, role=CustomerUser.Role.MASTER)
        .exclude(status=CustomerUser.Status.DELETED)
        .select_related("principal")
        .first()
    )


def master_row(user: CustomerUser | None) -> Detail:
    return row("master", _("マスターユーザ"), person(user))


def access(principal: Principal | None) -> str:
    """Whether the principal can sign in now: suspended, locked until when, or usable."""
    if principal is None:
        return _("（見つかりません）")
    if principal.suspended_at is not None:
        return _("利用停止中")
    if principal.locked_until is not None and principal.locked_until > timezone.now():
        return _("ロックアウト中（%(until)sまで）") % {"until": when(principal.locked_until)}
    return _("利用可能")


class ApprovalNotConfirmed(ValidationFailed):
    """承認 without 「内容を確認しました」 (the screen's checkbox, the API's ``"confirmed": true``)."""

    def __init__(self) -> None:
        super().__init__(
            _("内容をご確認のうえ、「内容を確認しました」にチェックしてから承認してください。"),
            fields={"confirmed": _("「内容を確認しました」にチェックしてください。")},
        )
