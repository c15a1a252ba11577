"""照会 (R-G1): the contract's accounts with their balances (残高照会) and an account's history
(入出金明細) over a date range, page by page and as CSV.

Who may: a user with the inquiry permission (the master always). With what: the inquiry PIN, as the
operation table says (authorization.operations, Operation.INQUIRY), asked once per login session at the
first inquiry and counted by the lockout mechanism like every secret; the session then remembers it
(web/sessions.py ``inquiry_authorized``) until it ends."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date, timedelta

from django.utils.translation import gettext as _

from corpbank.authorization.operations import Operation, check_factors
from corpbank.calendar import days
from corpbank.core import audit, text
from corpbank.core.errors import DomainError, FactorsRejected, NotFound, ValidationFailed
from corpbank.identity import lockout
from corpbank.ledger import selectors as ledger
from corpbank.ledger.models import LedgerAccount, Leg
from corpbank.organizations.models import Account, CustomerUser, Permission
from corpbank.payments import permissions

PAGE_SIZE = 50
# How far back the history reaches online (R-G1; a bank's statement service covers the rest).
HISTORY_DAYS = 366


class InquiryPinRequired(DomainError):
    """The session has not yet given the inquiry PIN (照会用暗証番号)."""

    code = "inquiry_pin_required"
    http_status = 403

    def __init__(self) -> None:
        super().__init__(_("照会用暗証番号を入力してください。"))


def authorize(*, user: CustomerUser, inquiry_pin: str, ip_address: str = "") -> None:
    """The inquiry PIN for this session: checked through the lockout mechanism (a wrong one counts
    against the user who typed it); a right one is audited with the check."""
    permissions.require(user, Permission.INQUIRY)
    actor = audit.Actor.customer(user, ip_address)

    def act() -> None:
        audit.record("inquiry.authorized", actor=actor, subject_user_id=user.pk, contract_id=user.contract_id)

    lockout.verified(
        lambda: check_factors(
            Operation.INQUIRY, user=user, supplied={"inquiry_pin": inquiry_pin}, actor=actor
        ),
        act,
        refused=FactorsRejected,
        master=user.is_master,
    )


@dataclasses.dataclass(frozen=True)
class AccountBalance:
    """A contract account (ご契約口座) with its balance; ``ledger_account`` None when the bank's ledger
    does not hold it (then it has no balance to show)."""

    account: Account
    ledger_account: LedgerAccount | None
    balance: int | None


def balances(user: CustomerUser) -> list[AccountBalance]:
    """残高照会: every account of the user's contract, in the order they were registered."""
    permissions.require(user, Permission.INQUIRY)
    accounts = Account.objects.filter(contract_id=user.contract_id).select_related("branch").order_by("pk")
    return [balance_of(account) for account in accounts]


def balance_of(account: Account) -> AccountBalance:
    """One contract account's balance, from the ledger that holds it (None when it holds none)."""
    held = ledger.customer_account(account.branch_id, account.type, account.number)
    return AccountBalance(account, held, ledger.balance(held.pk) if held else None)


@dataclasses.dataclass(frozen=True)
class HistoryPage:
    account: Account
    date_from: date
    date_to: date
    page: int
    pages: int
    count: int
    legs: list[Leg]  # each with its posting, oldest first


def account_of(user: CustomerUser, account_id: int) -> Account:
    """One of the user's contract's accounts, or NotFound (never another contract's)."""
    account = (
        Account.objects.filter(pk=account_id, contract_id=user.contract_id).select_related("branch").first()
    )
    if account is None:
        raise NotFound(_("指定された口座は見つかりません。"))
    return account


def typed_period(date_from: str, date_to: str) -> tuple[date | None, date | None]:
    """The period's two dates as typed on a screen or in a query (全角 read; blank: the default)."""
    return (
        text.calendar_date(date_from, field="date_from", label=_("照会開始日")),
        text.calendar_date(date_to, field="date_to", label=_("照会終了日")),
    )


def period(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """The history's dates: by default the last month up to today; refused when reversed, in the
    future, or reaching further back than the online history does."""
    today = days.today()
    earliest = today - timedelta(days=HISTORY_DAYS)
    date_to = date_to or today
    problems = {}
    if date_to > today:
        problems["date_to"] = _("本日以前の日付を指定してください。")
    elif date_to < earliest:
        problems["date_to"] = _("照会できるのは過去%(days)d日分までです。") % {"days": HISTORY_DAYS}
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    date_from = date_from or max(date_to - timedelta(days=30), earliest)
    if date_from > today:
        problems["date_from"] = _("本日以前の日付を指定してください。")
    elif date_from > date_to:
        problems["date_from"] = _("照会開始日は照会終了日以前の日付を指定してください。")
    if date_from < earliest:
        problems["date_from"] = _("照会できるのは過去%(days)d日分までです。") % {"days": HISTORY_DAYS}
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    return date_from, date_to


def history(
    user: CustomerUser, account_id: int, *, date_from: date | None, date_to: date | None, page: int = 1
) -> HistoryPage:
    """入出金明細: the account's entries with a value date in the period, in the account's order
    (its running number: the order the bank booked them), PAGE_SIZE a page."""
    permissions.require(user, Permission.INQUIRY)
    account = account_of(user, account_id)
    date_from, date_to = period(date_from, date_to)
    held = ledger.customer_account(account.branch_id, account.type, account.number)
    legs = (
        Leg.objects.filter(account=held, posting__value_date__range=(date_from, date_to))
        .select_related("posting")
        .order_by("seq")
        if held
        else Leg.objects.none()
    )
    count = legs.count()
    pages = max(1, -(-count // PAGE_SIZE))
    if page < 1 or page > pages:
        raise ValidationFailed(_("指定されたページはありません。"), fields={"page": str(page)})
    start = (page - 1) * PAGE_SIZE
    return HistoryPage(account, date_from, date_to, page, pages, count, list(legs[start : start + PAGE_SIZE]))


CSV_HEADER = ("勘定日", "摘要", "お支払金額", "お預り金額", "差引残高", "受付番号")


@dataclasses.dataclass(frozen=True)
class CsvFile:
    name: str
    content: bytes


def history_csv(
    user: CustomerUser, account_id: int, *, date_from: date | None, date_to: date | None
) -> CsvFile:
    """The whole period as CSV for Excel, read in one query: UTF-8 with a byte-order mark (Excel then
    reads the Japanese text as it is), CRLF line ends, amounts as plain integers, and no cell that a
    spreadsheet would take for a formula."""
    permissions.require(user, Permission.INQUIRY)
    account = account_of(user, account_id)
    date_from, date_to = period(date_from, date_to)
    held = ledger.customer_account(account.branch_id, account.type, account.number)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    if held is not None:
        legs = (
            Leg.objects.filter(account=held, posting__value_date__range=(date_from, date_to))
            .select_related("posting")
            .order_by("seq")
        )
        for leg in legs.iterator(chunk_size=500):
            writer.writerow(
                (
                    text.day(leg.posting.value_date),
                    _cell(leg.memo),
                    -leg.amount if leg.amount < 0 else "",
                    leg.amount if leg.amount > 0 else "",
                    leg.balance_after,
                    _cell(leg.posting.reference),
                )
            )
    return CsvFile(
        f"meisai_{account.branch.code}_{account.number}.csv",
        "\ufeff".encode() + out.getvalue().encode("utf-8"),
    )


def _cell(value: str) -> str:
    """Text a spreadsheet would run as a formula (=, +, -, @ first) kept as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
