"""窓口入金・出金 (issue 14 item 8): cash paid in or out at the counter, on a customer's account, by an
operator who enters procedures (a clerk or an approver); one posting against the bank's cash account,
with its audit event, in one transaction. Nothing else puts money into the embedded ledger."""

from __future__ import annotations

import dataclasses

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from corpbank.backoffice.models import Operator
from corpbank.backoffice.services.operators import operator_actor, require_entrant
from corpbank.calendar import days
from corpbank.core import audit, text
from corpbank.core.errors import Conflict, NotFound, ValidationFailed
from corpbank.ledger import selectors as ledger_selectors
from corpbank.ledger import services as ledger
from corpbank.ledger.models import LedgerAccount, Leg, Posting
from corpbank.organizations.models import Account

MEMO_DEPOSIT, MEMO_WITHDRAWAL = "ｹﾞﾝｷﾝ ﾆﾕｳｷﾝ", "ｹﾞﾝｷﾝ ｼﾕﾂｷﾝ"
MAX_KEY = 32  # the key and the operator's id fit the posting's 40-character idempotency key


@dataclasses.dataclass(frozen=True)
class CashOutcome:
    posting: Posting
    account: LedgerAccount
    balance: int
    amount: int = 0  # signed: into the account (入金) or out (出金)
    replayed: bool = False  # the same key again: the posting made before, nothing posted now


def _account(branch_code: str, type: str, number: str) -> LedgerAccount:
    branch_code = text.half_width(branch_code)
    number = text.half_width(number)
    type = text.half_width(type)
    if not (text.is_digits(branch_code) and len(branch_code) == 3) or not Account.well_formed(type, number):
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={"account": _("口座（店番3桁・科目・口座番号7桁）をご確認ください。")},
        )
    held = ledger_selectors.customer_account_at(branch_code, type, number)
    if held is None:
        raise NotFound(_("指定された口座は当金庫にありません。"))
    return held


def post_cash(
    *,
    operator: Operator,
    branch_code: str,
    type: str,
    number: str,
    amount: str,
    withdrawal: bool = False,
    idempotency_key: str = "",
    ip_address: str = "",
) -> CashOutcome:
    """One counter transaction: ``amount`` as typed (full width and thousands commas read). With an
    ``idempotency_key`` (the API's Idempotency-Key, the screen's one-time token), the same key again
    from the same operator gives back the posting it made: a retried request or a double click pays
    the cash once (the posting is filed under the key, unique in the database)."""
    require_entrant(operator)
    yen = text.amount(amount, field="amount", label=_("金額"))
    account = _account(branch_code, type, number)
    kind = Posting.Kind.CASH_WITHDRAWAL if withdrawal else Posting.Kind.CASH_DEPOSIT
    key = text.idempotency_key(idempotency_key, max_length=MAX_KEY)
    filed_under = f"C{operator.pk}:{key}" if key else None
    if (previous := _previous(filed_under, kind, account, yen)) is not None:
        return previous
    cash = ledger_selectors.internal_account(LedgerAccount.Purpose.CASH)
    sign = -1 if withdrawal else 1
    try:
        with transaction.atomic():
            posting = ledger.post(
                kind=kind,
                value_date=days.today(),
                entries=[
                    ledger.Entry(account.pk, sign * yen, MEMO_WITHDRAWAL if withdrawal else MEMO_DEPOSIT),
                    ledger.Entry(cash.pk, -sign * yen),
                ],
                idempotency_key=filed_under,
                act=audit.Act(
                    "ledger.cash_withdrawal" if withdrawal else "ledger.cash_deposit",
                    actor=operator_actor(operator, ip_address),
                    details={"account": str(account), "amount_yen": yen},
                ),
            )
    except IntegrityError:
        if (previous := _previous(filed_under, kind, account, yen)) is None:  # not the key's race
            raise
        return previous
    return CashOutcome(posting, account, ledger_selectors.balance(account.pk), sign * yen)


def _previous(filed_under: str | None, kind: str, account: LedgerAccount, yen: int) -> CashOutcome | None:
    """The counter transaction already made under this key, if any; the same key for other cash is
    refused."""
    if filed_under is None:
        return None
    posting = Posting.objects.filter(idempotency_key=filed_under).first()
    if posting is None:
        return None
    legs = {leg.account_id: leg.amount for leg in Leg.objects.filter(posting=posting)}
    if posting.kind != kind or abs(legs.get(account.pk, 0)) != yen:
        raise Conflict(_("この受付キーはすでに別の入出金に使われています。入力し直してください。"))
    return CashOutcome(
        posting, account, ledger_selectors.balance(account.pk), legs.get(account.pk, 0), replayed=True
    )
