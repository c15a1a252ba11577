"""The back office's money and calendar (issue 14 item 8, R-I1): 窓口入金・出金 on a customer's account,
the bank's closed days, same-day cut-off and how far ahead a transfer may be dated, the fee table, the
search of transfers and the day's interbank outgoing file. Operators who
enter procedures (clerks and approvers) do both; each act is audited."""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, Router, Schema, Status
from pydantic import StrictBool

from corpbank.api import security
from corpbank.api.schemas import ERRORS
from corpbank.api.transfers import TransferOut, transfer_out
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services import cash
from corpbank.backoffice.services import transfers as bank_transfers
from corpbank.calendar import days
from corpbank.calendar import services as calendar
from corpbank.core import text
from corpbank.payments.models import Destination, FeeRule
from corpbank.web import sessions

router = Router(tags=["backoffice"])


def _operator(request: HttpRequest) -> Operator:
    return request.auth  # type: ignore[attr-defined,no-any-return]


class CashIn(Schema):
    branch_code: str
    type: str = Field(description="1 普通, 2 当座")
    number: str
    amount: str = Field(description="yen as typed: 1000, 1,000 or full-width")
    # JSON true (窓口出金) or false only: "yes" or 1 must not decide which way money goes.
    withdrawal: StrictBool = False


class CashOut(Schema):
    posting_id: int
    account: str
    balance: int


@router.post("/ledger/cash", auth=security.operator, response={201: CashOut, **ERRORS})
def post_cash(
    request: HttpRequest,
    body: CashIn,
    idempotency_key: str = Header(
        "", alias="Idempotency-Key", description="retry with the same key: paid once"
    ),
) -> Status[CashOut]:
    """窓口入金（``withdrawal``: 窓口出金）: one posting against the bank's cash account. The same
    ``Idempotency-Key`` again (at most 32 characters) answers with the same posting."""
    done = cash.post_cash(
        operator=_operator(request),
        branch_code=body.branch_code,
        type=body.type,
        number=body.number,
        amount=body.amount,
        withdrawal=body.withdrawal,
        idempotency_key=idempotency_key,
        ip_address=sessions.client_ip(request),
    )
    return Status(201, CashOut(posting_id=done.posting.pk, account=str(done.account), balance=done.balance))


class ClosedDayOut(Schema):
    day: date
    reason: str
    added_by: str


class CalendarOut(Schema):
    transfer_cutoff: str
    max_days_ahead: int
    closed_days: list[ClosedDayOut]


class ClosedDayIn(Schema):
    day: str = Field(description="2026/12/28, 2026-12-28 or full-width")
    reason: str


class SettingsIn(Schema):
    transfer_cutoff: str = Field(description="HH:MM, e.g. 15:00")
    max_days_ahead: int


def _calendar_out() -> CalendarOut:
    current = days.service_settings()
    return CalendarOut(
        transfer_cutoff=f"{current.transfer_cutoff:%H:%M}",
        max_days_ahead=current.max_days_ahead,
        closed_days=[
            ClosedDayOut(day=row.day, reason=row.reason, added_by=row.added_by)
            for row in days.closed_days_ahead()
        ],
    )


@router.get("/calendar", auth=security.operator, response={200: CalendarOut, **ERRORS})
def get_calendar(request: HttpRequest) -> CalendarOut:
    """The cut-off, the farthest date ahead, and the closed days to come."""
    return _calendar_out()


def _day(typed: str, label: str | None = None) -> date:
    """休業日 (or ``label``'s day) as typed in a path or a body."""
    return text.required_date(typed, field="day", label=label or _("休業日"))


@router.post("/calendar/closed-days", auth=security.operator, response={201: CalendarOut, **ERRORS})
def add_closed_day(request: HttpRequest, body: ClosedDayIn) -> Status[CalendarOut]:
    """臨時休業日の登録: a future business day."""
    backoffice.require_entrant(_operator(request))
    actor = backoffice.operator_actor(_operator(request), sessions.client_ip(request))
    calendar.add_closed_day(day=_day(body.day), reason=body.reason, actor=actor)
    return Status(201, _calendar_out())


@router.post(
    "/calendar/closed-days/{day}/delete", auth=security.operator, response={200: CalendarOut, **ERRORS}
)
def remove_closed_day(request: HttpRequest, day: str) -> CalendarOut:
    """臨時休業日の取消, while it is still to come."""
    backoffice.require_entrant(_operator(request))
    actor = backoffice.operator_actor(_operator(request), sessions.client_ip(request))
    calendar.remove_closed_day(day=_day(day), actor=actor)
    return _calendar_out()


@router.put("/calendar/settings", auth=security.operator, response={200: CalendarOut, **ERRORS})
def change_settings(request: HttpRequest, body: SettingsIn) -> CalendarOut:
    """当日扱いの締切時刻と予約可能日数."""
    backoffice.require_entrant(_operator(request))
    cutoff = text.clock_time(body.transfer_cutoff, field="transfer_cutoff", label=_("締切時刻"))
    actor = backoffice.operator_actor(_operator(request), sessions.client_ip(request))
    calendar.change_service_settings(transfer_cutoff=cutoff, max_days_ahead=body.max_days_ahead, actor=actor)
    return _calendar_out()


class FeeOut(Schema):
    destination: str
    destination_label: str
    band: str
    band_label: str
    fee: int
    changed_by: str


class FeeIn(Schema):
    fee: str = Field(description="yen, 0 to 100,000 (full width read)")


def _fees() -> list[FeeOut]:
    return [
        FeeOut(
            destination=rule.destination,
            destination_label=str(Destination(rule.destination).label),
            band=rule.band,
            band_label=str(FeeRule.Band(rule.band).label),
            fee=rule.fee,
            changed_by=rule.changed_by,
        )
        for rule in bank_transfers.fee_table()
    ]


@router.get("/fees", auth=security.operator, response={200: list[FeeOut], **ERRORS})
def get_fees(request: HttpRequest) -> list[FeeOut]:
    """振込手数料: the fee table (same branch, other branch, other bank × under / from 30,000 yen)."""
    return _fees()


@router.put("/fees/{destination}/{band}", auth=security.operator, response={200: list[FeeOut], **ERRORS})
def change_fee(request: HttpRequest, destination: str, band: str, body: FeeIn) -> list[FeeOut]:
    """One cell of the fee table; transfers already accepted keep their fee."""
    bank_transfers.change_fee(
        _operator(request),
        destination=destination,
        band=band,
        fee=body.fee,
        ip_address=sessions.client_ip(request),
    )
    return _fees()


class BankTransferOut(TransferOut):
    contract_number: str
    filed_at: datetime | None = Field(description="to another bank: when it went out in the interbank file")


@router.get("/transfers", auth=security.operator, response={200: list[BankTransferOut], **ERRORS})
def search_transfers(
    request: HttpRequest,
    date_from: str = "",
    date_to: str = "",
    status: str = "",
    contract_number: str = "",
    reception_number: str = "",
    other_banks_only: bool = False,
) -> list[BankTransferOut]:
    """振込の検索: by execution day (from, to), status, contract number and reception number."""
    query = bank_transfers.TransferQuery(
        date_from=text.calendar_date(date_from, field="date_from", label=_("振込指定日（から）")),
        date_to=text.calendar_date(date_to, field="date_to", label=_("振込指定日（まで）")),
        status=status,
        contract_number=contract_number,
        reception_number=reception_number,
        other_banks_only=other_banks_only,
    )
    around = days.Calendar(days.today())
    return [
        BankTransferOut(
            **transfer_out(found, around).dict(),
            contract_number=found.contract.number,
            filed_at=found.filed_at,
        )
        for found in bank_transfers.search(_operator(request), query)
    ]


def _file_response(data: bytes, day: date) -> HttpResponse:
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="zengin-{day:%Y%m%d}.txt"'
    return response


@router.post("/transfers/outgoing/{day}", auth=security.operator, response={200: None, **ERRORS})
def outgoing_file(request: HttpRequest, day: str) -> HttpResponse:
    """他行あて振込ファイル: the day's executed transfers to other banks not yet sent, in the Zengin 総合振込
    format (120-byte records and CRLF, JIS X 0201 kana), as a download; they are marked sent."""
    chosen = _day(day, _("勘定日"))
    data = bank_transfers.outgoing_file(_operator(request), chosen, ip_address=sessions.client_ip(request))
    return _file_response(data, chosen)


class BatchOut(Schema):
    filed_at: datetime = Field(description="names the file: pass it as ?batch= to make it again")
    count: int
    total: int


@router.get(
    "/transfers/outgoing/{day}/batches", auth=security.operator, response={200: list[BatchOut], **ERRORS}
)
def outgoing_batches(request: HttpRequest, day: str) -> list[BatchOut]:
    """The interbank files already made for the day, oldest first."""
    backoffice.require_entrant(_operator(request))
    return [
        BatchOut(filed_at=batch.filed_at, count=batch.count, total=batch.total)
        for batch in bank_transfers.outgoing_batches(_day(day, _("勘定日")))
    ]


@router.get("/transfers/outgoing/{day}", auth=security.operator, response={200: None, **ERRORS})
def outgoing_file_again(request: HttpRequest, day: str, batch: datetime) -> HttpResponse:
    """One file of the day made again (lost on its way): exactly its transfers, marking nothing."""
    chosen = _day(day, _("勘定日"))
    data = bank_transfers.outgoing_file(
        _operator(request), chosen, batch=batch, ip_address=sessions.client_ip(request)
    )
    return _file_response(data, chosen)
