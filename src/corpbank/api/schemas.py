"""Schemas more than one router uses: the one error shape, usage limits, and the acting master's
factors. A schema of one domain lives next to its router (``api/<domain>.py``); the back office's are
still here until they move next to ``api/backoffice.py``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import BeforeValidator, StrictBool

from corpbank.core.errors import ValidationFailed


class ErrorBody(Schema):
    code: str = Field(description="stable, machine-readable")
    message: str = Field(description="in the user's language")
    fields: dict[str, str] = Field(default_factory=dict, description="problems by input field")


class ErrorOut(Schema):
    error: ErrorBody


# Every endpoint documents the one error shape for each status it may answer with.
ERRORS: dict[int, type[ErrorOut]] = {code: ErrorOut for code in (400, 401, 403, 404, 409, 422, 423)}


def _id_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# An id that a body takes as typed (a screen's select sends text, full-width read): a client may also
# send the integer that GET answered with.
IdText = Annotated[str, BeforeValidator(_id_as_text)]


@contextlib.contextmanager
def fields_named(names: Mapping[str, str]) -> Iterator[None]:
    """A service's refusal with its fields named as the API's body names them (``names``: the
    service's name, as the screens' inputs are named, to the body's path), so that ``fields`` names
    each bad field by its JSON path (docs/api.md)."""
    try:
        yield
    except ValidationFailed as refused:
        refused.fields = {names.get(name, name): message for name, message in refused.fields.items()}
        raise


class LimitSchema(Schema):
    kind: str
    # At most 15 digits, as the screens take them: beyond any limit, and within the database's bigint.
    per_transaction: int = Field(ge=0, le=999_999_999_999_999, description="yen")
    per_day: int = Field(ge=0, le=999_999_999_999_999, description="yen")


class Factors(Schema):
    confirmation_password: str = Field("", description="the acting master's confirmation password")
    otp: str = Field(
        "", description="a one-time password from the master's token, where the contract uses OTP"
    )


class FactorsIn(Schema):
    factors: Factors


# The back office's (api/backoffice.py).


class OperatorLoginIn(Schema):
    login_name: str
    password: str
    otp: str = Field("", description="the one-time password of the operator's authenticator app")


class OperatorPasswordIn(Schema):
    login_name: str
    password: str


class OperatorOut(Schema):
    id: int
    login_name: str
    display_name: str
    role: str = Field(description="clerk (受付担当), approver (承認者) or admin (管理者)")
    csrf_token: str = ""


class SecondFactorEnrolmentOut(Schema):
    otpauth_uri: str = Field(description="an otpauth:// Key URI for a standard authenticator app")
    secret: str = Field(description="the same key in base32, shown once")
    period: int
    digits: int
    algorithm: str


class OperatorAccountOut(Schema):
    id: int
    login_name: str
    display_name: str
    role: str
    is_active: bool
    second_factor: bool = Field(description="an authenticator app is registered")
    locked_until: datetime | None = None
    suspended: bool = False


class RoleIn(Schema):
    role: str = Field(description="clerk, approver or admin")


class AccountSchema(Schema):
    branch_code: str
    type: str = Field(description="1 普通 (ordinary), 2 当座 (current)")
    number: str


class ContractApplicationIn(Schema):
    organization_name: str
    organization_name_kana: str = Field(description="half-width kana")
    branch_code: str
    master_name: str
    accounts: list[AccountSchema]
    login_method: str = "password"
    pins: dict[str, str] = Field(description="inquiry_pin, transfer_pin, confirmation_pin, approval_pin")
    limits: list[LimitSchema] = []
    # JSON true or false only: "yes" or 1 decide nothing that changes what a contract asks for.
    otp_required: StrictBool = False
    notification_email: str = ""
    software_tokens: StrictBool = Field(False, description="one-time passwords by software tokens (R-E9)")


class PendingActionOut(Schema):
    id: int
    kind: str
    summary: str
    status: str
    contract_id: int | None
    entered_by: str
    entered_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str = Field("", description="却下の理由, when one was given")


class LetterOut(Schema):
    contract_number: str
    organization_name: str
    master_name: str
    initial_password: str = Field(description="shown in this answer only; never stored in clear")
    expires_at: datetime


class DecisionOut(Schema):
    action: PendingActionOut
    letter: LetterOut | None = None


class ContractOut(Schema):
    id: int
    number: str
    organization_name: str
    branch_code: str
    login_method: str
    status: str


class ProcedureIn(Schema):
    reason: str = Field("", description="emergency-stop, terminate (解約): why")
    token_user_id: str = Field(
        "", description="stop-software-token, cancel-software-token: the token's user ID"
    )
    login_id: str = Field("", description="revoke-certificate: the user whose certificate is revoked")


class PinsIn(Schema):
    pins: dict[str, str]


class AuditEventOut(Schema):
    id: int
    at: datetime
    action: str
    action_label: str = Field(description="what the event is called, in the session's language")
    actor_type: str
    actor_label: str
    contract_id: int | None
    subject_user_id: int | None
    ip_address: str
    details: dict[str, Any]


class StockImportOut(Schema):
    serials: list[str] = Field(description="the serial numbers now in stock")


class ShipmentIn(Schema):
    serials: list[str]
    fee_reason: str = Field("", description="'' (first tokens, free), 'additional' or 'reissue' (R-E3 fee)")
