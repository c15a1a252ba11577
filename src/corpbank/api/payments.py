"""照会 (R-G1) over the API: the inquiry PIN once per session, the contract's balances, an account's
history by date range and page, and the same history as CSV. Transfers and payees come next."""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from corpbank.api import security
from corpbank.api.schemas import ERRORS
from corpbank.payments import inquiry
from corpbank.web import sessions
from corpbank.web.payments import csv_response

router = Router(tags=["customer"])


class InquiryAuthorizationIn(Schema):
    inquiry_pin: str = Field(description="照会用暗証番号 (full-width digits are read as digits)")


class AccountOut(Schema):
    id: int
    branch_code: str
    branch_name: str
    type: str
    type_label: str
    number: str
    holder_kana: str | None
    balance: int | None = Field(description="yen; null when the bank's ledger does not hold the account")


class EntryOut(Schema):
    seq: int
    value_date: date
    posted_at: datetime
    memo: str
    withdrawal: int | None
    deposit: int | None
    balance_after: int
    reference: str


class HistoryOut(Schema):
    account: AccountOut
    date_from: date
    date_to: date
    page: int
    pages: int
    count: int
    entries: list[EntryOut]


def _authorized(request: HttpRequest) -> None:
    if not sessions.inquiry_authorized(request):
        raise inquiry.InquiryPinRequired()


def _account_out(found: inquiry.AccountBalance) -> AccountOut:
    account = found.account
    return AccountOut(
        id=account.pk,
        branch_code=account.branch.code,
        branch_name=account.branch.name,
        type=account.type,
        type_label=account.type_label,
        number=account.number,
        holder_kana=found.ledger_account.holder_kana if found.ledger_account else None,
        balance=found.balance,
    )


@router.post("/inquiry/authorization", auth=security.customer, response={204: None, **ERRORS})
def authorize(request: HttpRequest, body: InquiryAuthorizationIn) -> Status[None]:
    """照会用暗証番号: once per login session, before the first inquiry (counted like every secret)."""
    inquiry.authorize(user=request.auth, inquiry_pin=body.inquiry_pin, ip_address=sessions.client_ip(request))  # type: ignore[attr-defined]
    sessions.authorize_inquiry(request)
    return Status(204, None)


@router.get("/accounts", auth=security.customer, response={200: list[AccountOut], **ERRORS})
def accounts(request: HttpRequest) -> list[AccountOut]:
    """残高照会: the contract's accounts and their balances."""
    _authorized(request)
    return [_account_out(found) for found in inquiry.balances(request.auth)]  # type: ignore[attr-defined]


@router.get(
    "/accounts/{account_id}/transactions", auth=security.customer, response={200: HistoryOut, **ERRORS}
)
def transactions(
    request: HttpRequest, account_id: int, date_from: str = "", date_to: str = "", page: int = 1
) -> HistoryOut:
    """入出金明細: the account's entries with a value date from ``date_from`` to ``date_to`` (default:
    the last 30 days), oldest first, 50 a page."""
    _authorized(request)
    start, end = inquiry.typed_period(date_from, date_to)
    found = inquiry.history(request.auth, account_id, date_from=start, date_to=end, page=page)  # type: ignore[attr-defined]
    return HistoryOut(
        account=_account_out(inquiry.balance_of(found.account)),
        date_from=found.date_from,
        date_to=found.date_to,
        page=found.page,
        pages=found.pages,
        count=found.count,
        entries=[
            EntryOut(
                seq=leg.seq,
                value_date=leg.posting.value_date,
                posted_at=leg.posting.posted_at,
                memo=leg.memo,
                withdrawal=-leg.amount if leg.amount < 0 else None,
                deposit=leg.amount if leg.amount > 0 else None,
                balance_after=leg.balance_after,
                reference=leg.posting.reference,
            )
            for leg in found.legs
        ],
    )


@router.get("/accounts/{account_id}/transactions.csv", auth=security.customer, response={200: None, **ERRORS})
def transactions_csv(
    request: HttpRequest, account_id: int, date_from: str = "", date_to: str = ""
) -> HttpResponse:
    """入出金明細 as CSV for Excel (UTF-8 with a byte-order mark)."""
    _authorized(request)
    start, end = inquiry.typed_period(date_from, date_to)
    return csv_response(inquiry.history_csv(request.auth, account_id, date_from=start, date_to=end))  # type: ignore[attr-defined]
