"""振込振替 and 振込先管理 over the API (R-G2, R-G4, R-G6, R-G7): banks and branches by code or name,
the contract's payees, a transfer's quote (the confirmation) and its acceptance, which an
``Idempotency-Key`` header makes safe to retry, the transfers of the contract and their cancellation."""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest
from ninja import Field, Header, Router, Schema, Status

from corpbank.api import security
from corpbank.api.schemas import ERRORS, IdText, fields_named
from corpbank.calendar import days
from corpbank.payments import banks, payees, transfers
from corpbank.payments.models import Payee, Transfer
from corpbank.web import sessions

router = Router(tags=["customer"])


class BankOut(Schema):
    code: str
    name: str
    kana: str


class BranchOut(Schema):
    code: str
    name: str
    kana: str


class PayeeAccountIn(Schema):
    bank_code: str = Field(description="金融機関コード, 4 digits (full width read)")
    branch_code: str = Field(description="支店コード, 3 digits")
    type: str = Field(description="預金種目: 1 普通, 2 当座")
    number: str = Field(description="口座番号, 7 digits")
    holder: str = Field(
        "",
        description="受取人名 in kana (full width and hiragana converted); ignored for this bank's accounts",
    )
    nickname: str = Field("", description="登録名 (optional)")

    def typed(self) -> payees.PayeeInput:
        return payees.PayeeInput(
            self.bank_code, self.branch_code, self.type, self.number, self.holder, self.nickname
        )


class PayeeFactors(Schema):
    confirmation_password: str = ""
    otp: str = Field("", description="where the contract uses OTP")


class PayeeIn(PayeeAccountIn):
    factors: PayeeFactors


class PayeeDeleteIn(Schema):
    factors: PayeeFactors


class CheckedOut(Schema):
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    type: str
    number: str
    holder_kana: str = Field(
        description="this bank's record for its own accounts (口座名義照会), else as typed"
    )


class PayeeOut(CheckedOut):
    id: int
    nickname: str


class TransferFactors(Schema):
    transfer_pin: str = Field("", description="振込用暗証番号")
    confirmation_pin: str = Field("", description="確認用暗証番号")
    otp: str = Field("", description="for an ad-hoc payee (都度指定), where the contract uses OTP")


class TransferIn(Schema):
    source_account_id: IdText = Field(description="the contract account paying (an id of GET /accounts)")
    to: str = Field(description="own (another contract account), payee (a registered one) or adhoc")
    amount: str = Field(description="yen: 10000, 10,000 or full width")
    execution_date: str = Field("", description="振込指定日 (YYYY-MM-DD); empty: the earliest")
    fee_bearer: str = Field("payer", description="payer (当方負担) or payee (先方負担)")
    target_account_id: IdText = Field("", description="for to=own")
    payee_id: IdText = Field("", description="for to=payee")
    adhoc: PayeeAccountIn | None = Field(None, description="for to=adhoc")

    def field_names(self) -> dict[str, str]:
        """The service's field names (the screen's inputs) as this body's paths."""
        names = {"source_account": "source_account_id", "target_account": "target_account_id"}
        if self.to == "adhoc":  # the ad-hoc payee's inputs are in its object; ignored otherwise
            names |= {name: f"adhoc.{name}" for name in PayeeAccountIn.model_fields}
        return names

    def typed(self) -> transfers.TransferInput:
        return transfers.TransferInput(
            source_account=self.source_account_id,
            to=self.to,
            amount=self.amount,
            execution_date=self.execution_date,
            fee_bearer=self.fee_bearer,
            target_account=self.target_account_id,
            payee_id=self.payee_id,
            adhoc=self.adhoc.typed() if self.adhoc else None,
        )


class TransferOrderIn(TransferIn):
    factors: TransferFactors
    quote_id: str = Field(
        "", description="the quote's quote_id: if what would be accepted differs now, 409 quote_changed"
    )


class QuoteOut(Schema):
    source_account_id: int
    kind: str
    destination: str
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    type: str
    number: str
    holder_kana: str
    amount: int
    amount_in_words: str
    fee: int
    fee_bearer: str
    debited: int = Field(description="what leaves the paying account")
    credited: int = Field(description="what the payee receives")
    execution_date: date
    immediate: bool = Field(description="executes as it is accepted")
    factors: list[str] = Field(description="what the order asks for, in order")
    quote_id: str = Field(description="pass it with the order: it is refused if the quote has changed since")


class TransferOut(Schema):
    id: int
    reception_number: str
    status: str
    status_label: str
    kind: str
    source_account_id: int | None = Field(
        description="the contract account paying; null once released at 解約"
    )
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    type: str
    number: str
    holder_kana: str
    amount: int
    fee: int
    fee_bearer: str
    execution_date: date
    runs_on: date | None = Field(
        None,
        description="for a 予約中 transfer whose 振込指定日 the bank has closed since (臨時休業日): the next "
        "business day, on which it runs; null otherwise",
    )
    entered_at: datetime
    finished_at: datetime | None
    failure: str


def _payee_out(payee: Payee) -> PayeeOut:
    return PayeeOut(
        id=payee.pk,
        bank_code=payee.bank_code,
        bank_name=payee.bank_name,
        branch_code=payee.branch_code,
        branch_name=payee.branch_name,
        type=payee.type,
        number=payee.number,
        holder_kana=payee.holder_kana,
        nickname=payee.nickname,
    )


def transfer_out(transfer: Transfer, around: days.Calendar | None = None) -> TransferOut:
    """One transfer as the API shows it; a list passes one calendar (``around``) for all of them."""
    return TransferOut(
        id=transfer.pk,
        reception_number=transfer.reception_number,
        status=transfer.status,
        status_label=str(Transfer.Status(transfer.status).label),
        kind=transfer.kind,
        source_account_id=transfer.source_id,
        bank_code=transfer.bank_code,
        bank_name=transfer.bank_name,
        branch_code=transfer.branch_code,
        branch_name=transfer.branch_name,
        type=transfer.type,
        number=transfer.number,
        holder_kana=transfer.holder_kana,
        amount=transfer.amount,
        fee=transfer.fee,
        fee_bearer=transfer.fee_bearer,
        execution_date=transfer.execution_date,
        runs_on=transfers.runs_on(transfer, around),
        entered_at=transfer.entered_at,
        finished_at=transfer.finished_at,
        failure=transfer.failure,
    )


@router.get("/banks", auth=security.customer, response={200: list[BankOut], **ERRORS})
def search_banks(request: HttpRequest, q: str = "") -> list[BankOut]:
    """金融機関の検索: by code (its first digits) or name (kanji, kana or hiragana)."""
    return [BankOut(code=b.code, name=b.name, kana=b.kana) for b in banks.search_banks(q)]


@router.get("/banks/{bank_code}/branches", auth=security.customer, response={200: list[BranchOut], **ERRORS})
def search_branches(request: HttpRequest, bank_code: str, q: str = "") -> list[BranchOut]:
    """支店の検索: the bank's branches by code or name."""
    return [BranchOut(code=b.code, name=b.name, kana=b.kana) for b in banks.search_branches(bank_code, q)]


@router.get("/payees", auth=security.customer, response={200: list[PayeeOut], **ERRORS})
def list_payees(request: HttpRequest) -> list[PayeeOut]:
    """振込先一覧."""
    return [_payee_out(payee) for payee in payees.payees(request.auth)]  # type: ignore[attr-defined]


@router.post("/payees/check", auth=security.customer, response={200: CheckedOut, **ERRORS})
def check_payee(request: HttpRequest, body: PayeeAccountIn) -> CheckedOut:
    """The account as the bank knows it, before registering: names, and for this bank's accounts the
    holder's name (口座名義照会)."""
    checked = payees.check(body.typed())
    return CheckedOut(
        bank_code=checked.bank.code,
        bank_name=checked.bank.name,
        branch_code=checked.branch.code,
        branch_name=checked.branch.name,
        type=checked.type,
        number=checked.number,
        holder_kana=checked.holder_kana,
    )


@router.post("/payees", auth=security.customer, response={201: PayeeOut, **ERRORS})
def register_payee(request: HttpRequest, body: PayeeIn) -> Status[PayeeOut]:
    """振込先の登録 (confirmation password and OTP)."""
    payee = payees.register(request.auth, body.typed(), body.factors.dict(), sessions.client_ip(request))  # type: ignore[attr-defined]
    return Status(201, _payee_out(payee))


@router.put("/payees/{payee_id}", auth=security.customer, response={200: PayeeOut, **ERRORS})
def change_payee(request: HttpRequest, payee_id: int, body: PayeeIn) -> PayeeOut:
    """振込先の変更 (confirmation password and OTP)."""
    user = request.auth  # type: ignore[attr-defined]
    payee = payees.change(user, payee_id, body.typed(), body.factors.dict(), sessions.client_ip(request))
    return _payee_out(payee)


@router.post("/payees/{payee_id}/delete", auth=security.customer, response={204: None, **ERRORS})
def delete_payee(request: HttpRequest, payee_id: int, body: PayeeDeleteIn) -> Status[None]:
    """振込先の削除 (confirmation password and OTP)."""
    payees.delete(request.auth, payee_id, body.factors.dict(), sessions.client_ip(request))  # type: ignore[attr-defined]
    return Status(204, None)


@router.post("/transfers/quote", auth=security.customer, response={200: QuoteOut, **ERRORS})
def quote_transfer(request: HttpRequest, body: TransferIn) -> QuoteOut:
    """確認: the fee, the execution day, the holder's name and the factors the order will ask for."""
    user = request.auth  # type: ignore[attr-defined]
    with fields_named(body.field_names()):
        quoted = transfers.quote(user, body.typed())
    return QuoteOut(
        source_account_id=quoted.source.pk,
        kind=quoted.kind,
        destination=quoted.destination,
        bank_code=quoted.branch.bank.code,
        bank_name=quoted.branch.bank.name,
        branch_code=quoted.branch.code,
        branch_name=quoted.branch.name,
        type=quoted.type,
        number=quoted.number,
        holder_kana=quoted.holder_kana,
        amount=quoted.amount,
        amount_in_words=quoted.amount_in_words,
        fee=quoted.fee,
        fee_bearer=quoted.fee_bearer,
        debited=quoted.debited,
        credited=quoted.credited,
        execution_date=quoted.execution_date,
        immediate=quoted.immediate,
        factors=list(transfers.factors_of(quoted, user)),
        quote_id=quoted.fingerprint(),
    )


@router.post("/transfers", auth=security.customer, response={201: TransferOut, **ERRORS})
def order_transfer(
    request: HttpRequest,
    body: TransferOrderIn,
    idempotency_key: str = Header(
        "", alias="Idempotency-Key", description="retry with the same key: paid once"
    ),
) -> Status[TransferOut]:
    """振込振替の実行: accepted (and executed, when it is for today before the cut-off) with a reception
    number. The same ``Idempotency-Key`` again answers with the same transfer and pays nothing twice."""
    with fields_named(body.field_names()):
        transfer = transfers.accept(
            request.auth,  # type: ignore[attr-defined]
            body.typed(),
            body.factors.dict(),
            ip_address=sessions.client_ip(request),
            idempotency_key=idempotency_key,
            confirmed=body.quote_id,
        )
    return Status(201, transfer_out(transfer))


@router.get("/transfers", auth=security.customer, response={200: list[TransferOut], **ERRORS})
def list_transfers(request: HttpRequest, status: str = "") -> list[TransferOut]:
    """振込振替の照会: the contract's last 100 transfers, newest first (``status`` filters)."""
    around = days.Calendar(days.today())
    return [transfer_out(t, around) for t in transfers.transfers_of(request.auth, status=status)]  # type: ignore[attr-defined]


@router.get("/transfers/{transfer_id}", auth=security.customer, response={200: TransferOut, **ERRORS})
def get_transfer(request: HttpRequest, transfer_id: int) -> TransferOut:
    return transfer_out(transfers.transfer_of(request.auth, transfer_id))  # type: ignore[attr-defined]


@router.post("/transfers/{transfer_id}/cancel", auth=security.customer, response={200: TransferOut, **ERRORS})
def cancel_transfer(request: HttpRequest, transfer_id: int) -> TransferOut:
    """予約取消: a 予約中 transfer, until it executes."""
    transfer = transfers.cancel(request.auth, transfer_id, ip_address=sessions.client_ip(request))  # type: ignore[attr-defined]
    return transfer_out(transfer)
