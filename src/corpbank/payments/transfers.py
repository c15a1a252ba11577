"""振込振替 (R-G2, R-G6, R-G7): a single transfer from a contract account to another account of the
contract (振替), a registered payee or an account typed for this once (都度指定).

The steps, as on every bank's screens: input → :func:`quote` (確認: the fee, the execution day, the
holder's name, the amount in words) → :func:`accept` (the factors of the operation table; 完了 with a
reception number). A transfer for today, entered on a business day before the cut-off, executes at
once, in the transaction that accepts it; one for a later business day waits as 予約中 until the worker
executes it at the start of that day (:func:`execute_due`), and may be cancelled until then
(:func:`cancel`).

Exactly once: an order carries its client's key (the API's ``Idempotency-Key``, the confirmation
screen's one-time token); the same key again, from the same user, gives back the transfer it made —
looked up under the user's row lock, which the factors' check takes anyway, so that two requests
with one key can never both pay. The worker takes each due transfer under its row lock (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL) and executes it in one transaction with its posting and audit event: two
workers never both execute it, and a worker killed halfway leaves it 予約中 for the next run.

Limits (R-A4, R-G6): the contract's and the user's, per transaction and per day, for 振込振替. The day's
total counts every transfer for that execution day not failed or cancelled, and is summed under the
contract's row lock, so that parallel transfers of one contract can never together pass it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from corpbank.authorization import operations
from corpbank.authorization.operations import Operation, check_factors
from corpbank.calendar import days
from corpbank.core import audit, mail, text
from corpbank.core.errors import (
    Conflict,
    ContractNotActive,
    DomainError,
    FactorsRejected,
    NotFound,
    ValidationFailed,
)
from corpbank.identity import lockout
from corpbank.identity.selectors import principal_for_update
from corpbank.ledger import selectors as ledger
from corpbank.ledger import services as ledger_services
from corpbank.ledger.models import LedgerAccount, Posting
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations.models import (
    Account,
    Contract,
    CustomerUser,
    Organization,
    Permission,
    UsageLimit,
)
from corpbank.payments import banks, payees, permissions, zengin
from corpbank.payments.inquiry import account_of
from corpbank.payments.models import FEE_BAND_THRESHOLD, Destination, FeeRule, Payee, Transfer

LIMIT_KIND = UsageLimit.Kind.SINGLE_TRANSFER
T = TypeVar("T")
MAX_KEY = 80  # the idempotency key's length: a longer one is refused, never cut (two keys would meet)
COUNTED = (Transfer.Status.SCHEDULED, Transfer.Status.EXECUTED)
MEMO_FEE = "ﾌﾘｺﾐﾃｽｳﾘﾖｳ"


class QuoteChanged(DomainError):
    """What the user confirmed is no longer what would be accepted (the cut-off passed, the fee table or
    the payee changed): shown again, to be confirmed again."""

    code = "quote_changed"
    http_status = 409

    def __init__(self) -> None:
        super().__init__(
            _(
                "確認画面の表示後に内容（振込指定日・手数料・振込先など）が変わりました。"
                "表示された内容をご確認のうえ、あらためて確定してください。"
            )
        )


class LimitExceeded(DomainError):
    """利用限度額を超過: the amount passes a limit of the contract or of the user."""

    code = "limit_exceeded"
    http_status = 422

    def __init__(self, message: str) -> None:
        super().__init__(message, fields={"amount": message})


@dataclasses.dataclass(frozen=True)
class TransferInput:
    """A transfer as typed: ``to`` is ``own`` (another account of the contract, ``target_account``),
    ``payee`` (a registered payee, ``payee_id``) or ``adhoc`` (the account in ``adhoc``)."""

    source_account: str
    to: str
    amount: str
    execution_date: str = ""
    fee_bearer: str = Transfer.FeeBearer.PAYER
    target_account: str = ""
    payee_id: str = ""
    adhoc: payees.PayeeInput | None = None


@dataclasses.dataclass(frozen=True)
class Quote:
    """What the confirmation screen shows, and what :func:`accept` writes."""

    source: Account
    kind: str
    destination: str
    payee: Payee | None
    branch: banks.BankBranch
    type: str
    number: str
    holder_kana: str
    amount: int
    fee: int
    fee_bearer: str
    execution_date: date
    immediate: bool  # executes as it is accepted
    # An account at this bank typed with a holder's name that is not the bank's: the screen says so.
    holder_differs: bool = False

    @property
    def operation(self) -> Operation:
        if self.kind == Transfer.Kind.ADHOC:
            return Operation.SINGLE_TRANSFER_ADHOC
        return Operation.SINGLE_TRANSFER_REGISTERED_PAYEE

    @property
    def debited(self) -> int:
        return self.amount if self.fee_bearer == Transfer.FeeBearer.PAYEE else self.amount + self.fee

    @property
    def credited(self) -> int:
        return self.amount - self.fee if self.fee_bearer == Transfer.FeeBearer.PAYEE else self.amount

    @property
    def amount_in_words(self) -> str:
        return yen_in_words(self.amount)

    def fingerprint(self) -> str:
        """What the confirmation showed: an order accepted with it must still be exactly this."""
        shown = [
            self.source.pk,
            self.branch.bank.code,
            self.branch.code,
            self.type,
            self.number,
            self.holder_kana,
            self.amount,
            self.fee,
            self.fee_bearer,
            self.execution_date.isoformat(),
            self.immediate,
        ]
        return hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode()).hexdigest()[:32]


def operation_of(typed: TransferInput) -> Operation:
    """The operation table's row for the order: an account typed for this once (都度指定) asks more."""
    if typed.to == "adhoc":
        return Operation.SINGLE_TRANSFER_ADHOC
    return Operation.SINGLE_TRANSFER_REGISTERED_PAYEE


def factors_of(quoted: Quote, user: CustomerUser) -> tuple[str, ...]:
    """The factors the order will ask for, in order (the confirmation screen's fields)."""
    return operations.factors(quoted.operation, user.contract)


def yen_in_words(amount: int) -> str:
    """An amount as banks repeat it beside the figures, in 万 and 億: 12,345,678 is 「1,234万5,678円」
    (in English, where 万 means nothing, the figures and "yen")."""
    if not translation.get_language().startswith("ja"):
        return _("%(amount)s円") % {"amount": f"{amount:,}"}
    parts = []
    for unit, size in (("兆", 10**12), ("億", 10**8), ("万", 10**4)):
        if amount >= size:
            parts.append(f"{amount // size:,}{unit}")
            amount %= size
    if amount or not parts:
        parts.append(f"{amount:,}")
    return "".join(parts) + "円"


def fee_for(destination: str, amount: int, *, payee_bears: bool = False) -> int:
    """The fee table's fee for ``amount``. When the payee bears it (先方負担), the band is the one of what
    the payee receives: 30,000 yen less a 550-yen fee is sent as 29,450, under 30,000, and pays that
    band's fee (the practice of Japanese banks' 先方負担手数料)."""
    fees = {rule.band: rule.fee for rule in FeeRule.objects.filter(destination=destination)}
    under, from_ = fees.get(FeeRule.Band.UNDER, 0), fees.get(FeeRule.Band.FROM, 0)
    if amount < FEE_BAND_THRESHOLD:
        return under
    if payee_bears and amount - from_ < FEE_BAND_THRESHOLD:
        return under
    return from_


def _destination(source: Account, branch: banks.BankBranch) -> str:
    if not branch.bank.is_own:
        return Destination.OTHER_BANK
    return Destination.SAME_BRANCH if branch.code == source.branch.code else Destination.OTHER_BRANCH


def _execution_date(typed: str, now: datetime) -> tuple[date, bool]:
    """The day typed (blank: the earliest), and whether it is the earliest and that is today."""
    first = days.first_execution_day(now)
    today = timezone.localtime(now).date()
    chosen = text.calendar_date(typed, field="execution_date", label=_("振込指定日")) or first
    settings_now = days.service_settings()
    if chosen < today:
        message = _("振込指定日に過去の日付は指定できません。")
    elif chosen < first:
        message = _(
            "本日の当日扱いの受付時間（%(cutoff)sまで）を過ぎました。振込指定日は%(first)s以降の営業日を指定してください。"
        ) % {"cutoff": settings_now.transfer_cutoff.strftime("%H:%M"), "first": text.day(first)}
    elif not days.is_business_day(chosen):
        message = _(
            "振込指定日には営業日を指定してください（土日・祝日・12月31日〜1月3日・当金庫の休業日は指定できません）。"
        )
    elif chosen > today + timedelta(days=settings_now.max_days_ahead):
        message = _("振込指定日は%(days)d日先までの営業日を指定してください。") % {
            "days": settings_now.max_days_ahead
        }
    else:
        return chosen, chosen == today
    raise ValidationFailed(_("入力内容をご確認ください。"), fields={"execution_date": message})


def quote(user: CustomerUser, typed: TransferInput, now: datetime | None = None) -> Quote:
    """確認: the transfer as it would be accepted, or ValidationFailed naming every field to correct.
    Whether the balance covers it is not told here: that would let anyone with the transfer
    permission find the balance out, without the inquiry's permission and PIN, by quoting amounts. The
    posting decides at acceptance (InsufficientFunds), after the factors."""
    permissions.require(user, Permission.SINGLE_TRANSFER)
    now = now or timezone.now()
    problems: dict[str, str] = {}
    source = _typed_account(user, typed.source_account, field="source_account", problems=problems)
    if source is not None and ledger.customer_account(source.branch_id, source.type, source.number) is None:
        problems["source_account"] = _(
            "ご指定の支払口座は現在お取り扱いできません。お取引店にお問い合わせください。"
        )
    amount = _field(
        problems, "amount", lambda: text.amount(typed.amount, field="amount", label=_("振込金額"))
    )
    execution = _field(problems, "execution_date", lambda: _execution_date(typed.execution_date, now))
    if typed.fee_bearer not in Transfer.FeeBearer.values:
        problems["fee_bearer"] = _("手数料の負担（当方負担・先方負担）を選んでください。")
    payee = None
    holder_differs = False
    target: tuple[banks.BankBranch, str, str, str] | None = None
    if typed.to == "own":
        account = _typed_account(user, typed.target_account, field="target_account", problems=problems)
        if account is not None and source is not None and account.pk == source.pk:
            problems["target_account"] = _("支払口座と同じ口座には振替できません。")
        elif account is not None:
            own = banks.branch(banks.own_bank().code, account.branch.code)
            held = payees.holder_of(account.branch.code, account.type, account.number)
            if own is None or held is None:
                problems["target_account"] = _("この口座には振替できません。お取引店にお問い合わせください。")
            else:
                target = (own, account.type, account.number, held[:30])
    elif typed.to == "payee":
        try:
            payee = payees.payee_of(user, int(text.half_width(typed.payee_id) or "0"))
        except (NotFound, ValueError):
            problems["payee_id"] = _("振込先を選んでください。")
        else:
            branch = banks.branch(payee.bank_code, payee.branch_code)
            if branch is None:
                problems["payee_id"] = _(
                    "この振込先の金融機関・支店は現在お取り扱いできません。振込先をご確認ください。"
                )
            else:
                target = (branch, payee.type, payee.number, payee.holder_kana)
    elif typed.to == "adhoc" and typed.adhoc is not None:
        checked = _field(problems, "adhoc", lambda: payees.check(typed.adhoc))  # type: ignore[arg-type]
        if checked is not None:
            target = (checked.branch, checked.type, checked.number, checked.holder_kana)
            holder_differs = checked.holder_differs
    else:
        problems["to"] = _("振込先の指定方法（ご契約口座・登録振込先・都度指定）を選んでください。")
    if problems or source is None or amount is None or execution is None or target is None:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    branch, type, number, holder = target
    destination = _destination(source, branch)
    # Told on the input that chose the account: the typed number, the payee or the contract account.
    chosen = {"own": "target_account", "payee": "payee_id"}.get(typed.to, "number")
    if branch.bank.is_own and payees.holder_of(branch.code, type, number) is None:
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={chosen: _("ご指定の口座は当金庫にありません（または解約済みです）。")},
        )
    if branch.bank.is_own and (branch.code, type, number) == (source.branch.code, source.type, source.number):
        raise ValidationFailed(
            _("入力内容をご確認ください。"), fields={chosen: _("支払口座と同じ口座には振込できません。")}
        )
    if destination == Destination.OTHER_BANK and amount > zengin.MAX_AMOUNT:
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={
                "amount": _("他行あての振込金額は1回%(max)s円までです。分けてお振込みください。")
                % {"max": f"{zengin.MAX_AMOUNT:,}"}
            },
        )
    kind = {"own": Transfer.Kind.OWN_ACCOUNT, "payee": Transfer.Kind.REGISTERED}.get(
        typed.to, Transfer.Kind.ADHOC
    )
    # 振替 between the contract's own accounts is free of charge, as at every bank.
    fee = (
        0
        if kind == Transfer.Kind.OWN_ACCOUNT
        else fee_for(destination, amount, payee_bears=typed.fee_bearer == Transfer.FeeBearer.PAYEE)
    )
    if typed.fee_bearer == Transfer.FeeBearer.PAYEE and amount <= fee:
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={
                "amount": _("先方負担の場合、振込金額は手数料（%(fee)s円）より多くしてください。")
                % {"fee": f"{fee:,}"}
            },
        )
    quoted = Quote(
        source,
        kind,
        destination,
        payee,
        branch,
        type,
        number,
        holder,
        amount,
        fee,
        typed.fee_bearer,
        *execution,
        holder_differs=holder_differs,
    )
    _check_limits(user, quoted)
    return quoted


def _field(problems: dict[str, str], field: str, read: Callable[[], T]) -> T | None:
    try:
        return read()
    except ValidationFailed as refused:
        problems.update(refused.fields or {field: str(refused)})
        return None


def _typed_account(user: CustomerUser, typed: str, *, field: str, problems: dict[str, str]) -> Account | None:
    try:
        return account_of(user, int(text.half_width(str(typed)) or "0"))
    except (NotFound, ValueError):
        problems[field] = _("ご契約口座から選んでください。")
        return None


# -- limits -------------------------------------------------------------------------------------------


def _limits(user: CustomerUser) -> list[tuple[UsageLimit, bool]]:
    rows = UsageLimit.objects.filter(
        Q(user__isnull=True) | Q(user=user), contract_id=user.contract_id, kind=LIMIT_KIND
    )
    return [(row, row.user_id is not None) for row in rows]


def _check_limits(user: CustomerUser, quoted: Quote) -> None:
    """Per transaction and per day, the contract's and the user's (R-A4, R-G6). A contract without a
    limit for 振込振替 may not transfer at all: the bank sets one at every contract."""
    limits = _limits(user)
    if not any(not personal for _row, personal in limits):
        raise LimitExceeded(_("振込振替の利用限度額が設定されていません。お取引店にお問い合わせください。"))
    day = Transfer.objects.filter(
        contract_id=user.contract_id, execution_date=quoted.execution_date, status__in=COUNTED
    )
    contract_total = day.aggregate(total=Sum("amount"))["total"] or 0
    user_total = day.filter(entered_by=user).aggregate(total=Sum("amount"))["total"] or 0
    for limit, personal in limits:
        whose = _("ご利用者さま") if personal else _("ご契約")
        if quoted.amount > limit.per_transaction:
            raise LimitExceeded(
                _("振込金額が%(whose)sの1回あたりの利用限度額（%(limit)s円）を超えています。")
                % {"whose": whose, "limit": f"{limit.per_transaction:,}"}
            )
        spent = user_total if personal else contract_total
        if spent + quoted.amount > limit.per_day:
            raise LimitExceeded(
                _(
                    "%(day)sの振込振替の合計が%(whose)sの1日あたりの利用限度額（%(limit)s円）を超えます"
                    "（ご利用可能額：%(left)s円）。"
                )
                % {
                    "day": text.day(quoted.execution_date),
                    "whose": whose,
                    "limit": f"{limit.per_day:,}",
                    "left": f"{max(limit.per_day - spent, 0):,}",
                }
            )


# -- acceptance -----------------------------------------------------------------------------------------


class _Replayed(Exception):
    def __init__(self, transfer: Transfer) -> None:
        self.transfer = transfer


def _digest(typed: TransferInput) -> str:
    """What was asked, as asked, for the idempotency key: the same key must ask the same again. The
    typed input, not the quote: a retry after the cut-off would be quoted for another day."""
    asked = json.dumps(dataclasses.asdict(typed), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(asked.encode()).hexdigest()


def runs_on(transfer: Transfer, calendar: days.Calendar | None = None) -> date | None:
    """The day a 予約中 transfer will run when its 振込指定日 is no longer a business day (a 臨時休業日
    the bank registered after accepting it): the first business day from that day or today, whichever
    is later, as the worker runs it (still told while the bank stays closed after the day). None when
    it runs on its day, has run, or was cancelled. The transfer keeps the day the customer chose. A
    list passes one ``calendar`` (days.Calendar around today) for all its transfers."""
    if transfer.status != Transfer.Status.SCHEDULED:
        return None
    day = transfer.execution_date
    start = max(day, days.today())
    calendar = calendar or days.Calendar(start)
    if calendar.is_business_day(day):
        return None
    return calendar.on_or_after(start)


def with_run_days(found: list[Transfer]) -> list[Transfer]:
    """A list's transfers, each with ``postponed_to`` (:func:`runs_on`), read with one calendar."""
    around = days.Calendar(days.today())
    for transfer in found:
        transfer.postponed_to = runs_on(transfer, around)  # type: ignore[attr-defined]
    return found


def accepted_under(user: CustomerUser, key: str) -> Transfer | None:
    """The transfer ``user`` has already made under ``key`` (the confirmation's token), if any: the
    confirmation page, opened again by the back button or a reload, shows it rather than a fresh
    confirmation."""
    return Transfer.objects.filter(entered_by=user, idempotency_key=key).first() if key else None


def _previous(user: CustomerUser, key: str, digest: str) -> Transfer | None:
    if not key:
        return None
    found = Transfer.objects.filter(entered_by=user, idempotency_key=key).first()
    if found is not None and found.request_digest != digest:
        raise Conflict(
            _("この受付キーはすでに別の振込に使われています。新しい振込は最初から入力し直してください。")
        )
    return found


def accept(
    user: CustomerUser,
    typed: TransferInput,
    factors: dict[str, str],
    *,
    ip_address: str = "",
    idempotency_key: str = "",
    confirmed: str = "",
    now: datetime | None = None,
) -> Transfer:
    """完了: check the factors the table asks, then accept the transfer (and execute it, when it is for
    today before the cut-off), all in one transaction; the same ``idempotency_key`` again gives back
    the transfer it made, paying nothing twice. ``confirmed``, the fingerprint of the quote the user
    confirmed (:meth:`Quote.fingerprint`), makes a changed order (QuoteChanged) shown again rather
    than accepted unseen."""
    now = now or timezone.now()
    key = text.idempotency_key(idempotency_key, max_length=MAX_KEY)
    digest = _digest(typed)
    previous = _previous(user, key, digest)
    if previous is not None:  # before the quote: a retry after the cut-off or at the limit still answers
        previous.replayed = True
        return previous
    quoted = quote(user, typed, now)
    if confirmed and confirmed != quoted.fingerprint():
        raise QuoteChanged()
    actor = audit.Actor.customer(user, ip_address)

    def check() -> lockout.Verdict:
        # Locks in the order every path takes them: the contract (解約 and the approvals lock it first),
        # then the user's principal; a retry with the key waits here for the first.
        _lock_active_contract(user.contract_id)
        principal_for_update(user.principal_id)
        replayed = _previous(user, key, digest)
        if replayed is not None:
            raise _Replayed(replayed)
        return check_factors(quoted.operation, user=user, supplied=factors, actor=actor)

    def act() -> Transfer:
        _check_limits(user, quoted)  # again, under the contract's lock (taken in check)
        transfer = _write(user, quoted, key, digest, now)
        audit.record(
            "transfer.accepted",
            actor=actor,
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details=_details(transfer),
        )
        if quoted.immediate:
            _post(transfer, actor, now, quoted.execution_date)  # InsufficientFunds refuses it all
        _notify(transfer)
        return transfer

    try:
        return lockout.verified(check, act, refused=FactorsRejected, master=user.is_master)
    except _Replayed as replayed:
        replayed.transfer.replayed = True
        return replayed.transfer
    except IntegrityError:
        replayed_transfer = _previous(user, key, digest)  # the key's unique index, on a race it lost
        if replayed_transfer is None:
            raise
        replayed_transfer.replayed = True
        return replayed_transfer


def _lock_active_contract(contract_id: int) -> None:
    """The contract's row locked (limits are summed under it), and still in use: a termination or an
    emergency stop approved meanwhile refuses the order."""
    if organization_selectors.contract_status_for_update(contract_id) != Contract.Status.ACTIVE:
        raise ContractNotActive(_("ご契約が緊急停止中または解約済みのため、お取扱いできません。"))


def _write(user: CustomerUser, quoted: Quote, key: str, digest: str, now: datetime) -> Transfer:
    return Transfer.objects.create(
        contract_id=user.contract_id,
        entered_by=user,
        source=quoted.source,
        source_account=_ledger_account(quoted.source),
        kind=quoted.kind,
        payee=quoted.payee,
        destination=quoted.destination,
        bank_code=quoted.branch.bank.code,
        bank_name=quoted.branch.bank.name,
        branch_code=quoted.branch.code,
        branch_name=quoted.branch.name,
        type=quoted.type,
        number=quoted.number,
        holder_kana=quoted.holder_kana,
        amount=quoted.amount,
        fee=quoted.fee,
        fee_bearer=quoted.fee_bearer,
        execution_date=quoted.execution_date,
        status=Transfer.Status.SCHEDULED,
        entered_at=now,
        idempotency_key=key,
        request_digest=digest,
    )


def _details(transfer: Transfer) -> dict[str, object]:
    return {
        "reception_number": transfer.reception_number,
        "source_account_id": transfer.source_id,
        "destination": f"{transfer.bank_code}-{transfer.branch_code}-{transfer.type}-{transfer.number}",
        "holder": transfer.holder_kana,
        "amount": transfer.amount,
        "fee": transfer.fee,
        "fee_bearer": transfer.fee_bearer,
        "execution_date": transfer.execution_date.isoformat(),
    }


# -- execution ------------------------------------------------------------------------------------------


def _ledger_account(account: Account) -> LedgerAccount:
    held = ledger.customer_account(account.branch_id, account.type, account.number)
    if held is None:
        raise ValidationFailed(
            _("ご指定の支払口座は現在お取り扱いできません。お取引店にお問い合わせください。")
        )
    return held


def _post(transfer: Transfer, actor: audit.Actor, now: datetime, value_date: date) -> Posting:
    """Move the money: the source's debit (the amount, and the fee when the payer bears it), the
    payee's credit (at this bank) or the settlement account's (to another bank, onto the day's
    outgoing list), the fee income. Marks the transfer executed, with its event, in the same transaction."""
    source = transfer.source_account
    payer_memo = f"ﾌﾘｺﾐ {transfer.holder_kana}"[:48]
    if transfer.destination == Destination.OTHER_BANK:
        credit = ledger.internal_account(LedgerAccount.Purpose.SETTLEMENT)
    else:
        found = _own_bank_account(transfer)
        if found is None:
            raise ValidationFailed(_("振込先の口座が見つかりません（解約済みの可能性があります）。"))
        credit = found
    payer_name = (
        Organization.objects.filter(contracts__pk=transfer.contract_id)
        .values_list("name_kana", flat=True)
        .first()
    )
    entries = [ledger_services.Entry(source.pk, -transfer.amount, payer_memo)]
    entries.append(ledger_services.Entry(credit.pk, transfer.credited, f"ﾌﾘｺﾐ {payer_name or ''}"[:48]))
    if transfer.fee:
        if transfer.fee_bearer == Transfer.FeeBearer.PAYER:
            entries.append(ledger_services.Entry(source.pk, -transfer.fee, MEMO_FEE))
        entries.append(
            ledger_services.Entry(
                ledger.internal_account(LedgerAccount.Purpose.FEE_INCOME).pk, transfer.fee, MEMO_FEE
            )
        )
    posting = ledger_services.post(
        kind=Posting.Kind.TRANSFER,
        value_date=value_date,  # the day it ran: its execution day, or later after a closed day
        entries=entries,
        reference=transfer.reception_number,
        posted_at=now,
        act=audit.Act(
            "transfer.executed",
            actor=actor,
            subject_user_id=transfer.entered_by_id,
            contract_id=transfer.contract_id,
            details=_details(transfer),
        ),
    )
    transfer.status, transfer.posting, transfer.finished_at = Transfer.Status.EXECUTED, posting, now
    transfer.save(update_fields=["status", "posting", "finished_at"])
    return posting


def _own_bank_account(transfer: Transfer) -> LedgerAccount | None:
    """The payee's open account at this bank, as the transfer names it."""
    return ledger.customer_account_at(transfer.branch_code, transfer.type, transfer.number, open_only=True)


def execute_due(today: date | None = None, *, stop: Callable[[], bool] = lambda: False) -> int:
    """The worker's round: execute every 予約中 transfer whose day has come (today, a business day),
    each in its own transaction with its posting and event, or fail it as a whole (insufficient funds,
    a closed account) and tell the organization. ``stop`` is asked between two transfers. Returns how
    many it finished."""
    today = today or days.today()
    if not days.is_business_day(today):
        return 0
    finished = 0
    while not stop() and _execute_next(today) is not None:
        finished += 1
    return finished


def _execute_next(today: date) -> Transfer | None:
    actor = audit.Actor.system("worker")
    with transaction.atomic(durable=True):
        due = Transfer.objects.filter(status=Transfer.Status.SCHEDULED, execution_date__lte=today).order_by(
            "pk"
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        transfer = due.first()
        if transfer is None:
            return None
        now = timezone.now()
        try:
            with transaction.atomic():
                if not Contract.objects.filter(
                    pk=transfer.contract_id, status=Contract.Status.ACTIVE
                ).exists():
                    raise ValidationFailed(
                        _("ご契約が緊急停止中または解約済みのため、お取扱いできませんでした。")
                    )
                _post(transfer, actor, now, today)
        except DomainError as failed:  # insufficient funds, a closed account, a payee gone: fails as a whole
            transfer.status, transfer.finished_at, transfer.failure = (
                Transfer.Status.FAILED,
                now,
                str(failed)[:200],
            )
            transfer.save(update_fields=["status", "finished_at", "failure"])
            audit.record(
                "transfer.failed",
                actor=actor,
                subject_user_id=transfer.entered_by_id,
                contract_id=transfer.contract_id,
                details={**_details(transfer), "reason": transfer.failure},
            )
        _notify(transfer)
        return transfer


# -- cancellation and reading -----------------------------------------------------------------------------


def transfers_of(user: CustomerUser, *, status: str = "") -> list[Transfer]:
    """振込振替の照会・取消: the contract's transfers, newest first (the last 100)."""
    permissions.require(user, Permission.SINGLE_TRANSFER)
    found = Transfer.objects.filter(contract_id=user.contract_id).select_related("source_account__branch")
    if status:
        found = found.filter(status=status)
    return list(found.order_by("-pk")[:100])


def transfer_of(user: CustomerUser, transfer_id: int) -> Transfer:
    permissions.require(user, Permission.SINGLE_TRANSFER)
    found = (
        Transfer.objects.filter(pk=transfer_id, contract_id=user.contract_id)
        .select_related("source_account__branch", "source__branch")
        .first()
    )
    if found is None:
        raise NotFound(_("指定された振込は見つかりません。"))
    return found


def cancel(user: CustomerUser, transfer_id: int, *, ip_address: str = "") -> Transfer:
    """予約取消: a 予約中 transfer of the contract, until it executes; under its row lock, which the
    worker takes too, so that it is either cancelled or executed, never both."""
    transfer_of(user, transfer_id)
    actor = audit.Actor.customer(user, ip_address)
    with transaction.atomic(durable=True):
        transfer = (
            Transfer.objects.select_for_update().filter(pk=transfer_id, contract_id=user.contract_id).first()
        )
        if transfer is None:  # pragma: no cover - transfers are never deleted
            raise NotFound(_("指定された振込は見つかりません。"))
        if transfer.status != Transfer.Status.SCHEDULED:
            raise Conflict(CANNOT_CANCEL[Transfer.Status(transfer.status)]())
        _cancelled(transfer, actor, subject_user_id=user.pk)
    return transfer


def _cancelled(transfer: Transfer, actor: audit.Actor, *, subject_user_id: int | None, why: str = "") -> None:
    """Mark a 予約中 transfer, locked by the caller, cancelled; audit it and tell the organization."""
    transfer.status, transfer.finished_at, transfer.failure = Transfer.Status.CANCELLED, timezone.now(), why
    transfer.save(update_fields=["status", "finished_at", "failure"])
    audit.record(
        "transfer.cancelled",
        actor=actor,
        subject_user_id=subject_user_id,
        contract_id=transfer.contract_id,
        details=_details(transfer),
    )
    _notify(transfer)


def cancel_for_termination(contract_id: int, *, actor: audit.Actor) -> list[str]:
    """解約: every 予約中 transfer of the contract cancelled, in the termination's transaction, each
    audited and its organization told; returns their reception numbers."""
    waiting = Transfer.objects.select_for_update().filter(
        contract_id=contract_id, status=Transfer.Status.SCHEDULED
    )
    cancelled = []
    for transfer in waiting.order_by("pk"):
        _cancelled(transfer, actor, subject_user_id=None, why=_("ご契約の解約による取消"))
        cancelled.append(transfer.reception_number)
    return cancelled


CANNOT_CANCEL = {
    Transfer.Status.EXECUTED: lambda: _("この振込はすでに実行済みのため取り消せません。"),
    Transfer.Status.FAILED: lambda: _(
        "この振込はお取扱いできなかった（不能）ため、取り消す必要はありません。"
    ),
    Transfer.Status.CANCELLED: lambda: _("この振込はすでに取り消されています。"),
}


# -- mail -------------------------------------------------------------------------------------------------

SUBJECTS = {
    Transfer.Status.SCHEDULED: "振込振替の受付のお知らせ",
    Transfer.Status.EXECUTED: "振込振替の完了のお知らせ",
    Transfer.Status.FAILED: "振込振替ができなかったお知らせ",
    Transfer.Status.CANCELLED: "振込振替の予約取消のお知らせ",
}


def _notify(transfer: Transfer) -> None:
    """Mail the organization's address (R-I4) after the commit: at acceptance, at execution (one mail
    when both happen at once), on failure, on cancellation. In Japanese, the bank's language to its
    customers on paper and by mail."""
    organization = Organization.objects.filter(contracts__pk=transfer.contract_id).first()
    if organization is None or not organization.notification_email:
        return
    with translation.override("ja"):
        subject = "【%s】%s" % (settings.CORPBANK_BANK_NAME, SUBJECTS[Transfer.Status(transfer.status)])  # noqa: UP031
        body = render_to_string(
            "corpbank/mail/transfer_notice.txt",
            {
                "organization": organization.name,
                "transfer": transfer,
                "status": Transfer.Status(transfer.status).label,
                "source": transfer.source_account,
                "bank_name": settings.CORPBANK_BANK_NAME,
                "helpdesk": settings.CORPBANK_HELPDESK_PHONE,
                "sender": mail.sender(),
            },
        )
    mail.send_after_commit(to=organization.notification_email, subject=subject, body=body)
