from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema


class ErrorBody(Schema):
    code: str = Field(description="stable, machine-readable")
    message: str = Field(description="in the user's language")
    fields: dict[str, str] = Field(default_factory=dict, description="problems by input field")


class ErrorOut(Schema):
    error: ErrorBody


# Every endpoint documents the one error shape for each status it may answer with.
ERRORS: dict[int, type[ErrorOut]] = {code: ErrorOut for code in (400, 401, 403, 404, 409, 422, 423)}


class CsrfOut(Schema):
    csrf_token: str


class LoginIn(Schema):
    login_id: str = Field("", description="not needed when the connection presents a client certificate")
    password: str


class SessionOut(Schema):
    user_id: int
    login_id: str
    role: str
    name: str
    organization: str
    contract_number: str
    must_change: list[str]
    password_change_due_at: datetime | None = None
    warn_expiry: bool = False
    must_register_token: bool = False
    must_register_questions: bool = False
    csrf_token: str = Field(description="the CSRF token rotated at login; send it as X-CSRFToken")


class RegisterMasterIn(Schema):
    contract_number: str
    initial_password: str
    login_id: str
    login_password: str
    login_password_again: str
    confirmation_password: str
    confirmation_password_again: str


class PasswordsIn(Schema):
    current_login_password: str = ""
    current_confirmation_password: str = ""
    new_login_password: str = ""
    new_login_password_again: str = ""
    new_confirmation_password: str = ""
    new_confirmation_password_again: str = ""


class LoginEventOut(Schema):
    at: datetime
    action: str
    ip_address: str


class LimitSchema(Schema):
    kind: str
    per_transaction: int = Field(ge=0, description="yen")
    per_day: int = Field(ge=0, description="yen")


class UserOut(Schema):
    id: int
    login_id: str | None
    name: str
    role: str
    status: str
    locked_until: datetime | None
    suspended: bool
    permissions: list[str]
    limits: list[LimitSchema]


class Factors(Schema):
    confirmation_password: str = Field("", description="the acting master's confirmation password")
    otp: str = Field(
        "", description="a one-time password from the master's token, where the contract uses OTP"
    )


class UserAddIn(Schema):
    factors: Factors
    login_id: str
    name: str
    login_password: str = Field(description="initial; the user replaces it at first login")
    confirmation_password: str = Field(description="initial; the user replaces it at first login")
    permissions: list[str] = []
    limits: list[LimitSchema] = []


class UserChangeIn(Schema):
    factors: Factors
    name: str
    permissions: list[str] = []
    limits: list[LimitSchema] = []


class UserResetIn(Schema):
    factors: Factors
    login_password: str
    confirmation_password: str


class FactorsIn(Schema):
    factors: Factors


class OperatorLoginIn(Schema):
    login_name: str
    password: str


class OperatorOut(Schema):
    id: int
    login_name: str
    display_name: str
    csrf_token: str = ""


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
    otp_required: bool = False
    notification_email: str = ""


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
    reason: str = Field("", description="emergency-stop: why")
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
    actor_type: str
    actor_label: str
    contract_id: int | None
    subject_user_id: int | None
    ip_address: str
    details: dict[str, Any]


class TokenRegistrationIn(Schema):
    serial: str = Field(description="the serial number on the back of the token")
    otp: str = Field(description="the one-time password the token shows now")


class AdditionalAuthOut(Schema):
    question: str = Field(description="the question's code")
    question_label: str = Field(description="the question as the screens ask it")
    csrf_token: str = Field(description="the CSRF token of this pre-login session")


class AnswerIn(Schema):
    answer: str


class QuestionChoiceOut(Schema):
    question: str
    label: str


class QuestionAnswerIn(Schema):
    question: str = Field(description="a code from GET /secret-questions")
    answer: str


class SecretQuestionsIn(Schema):
    questions: list[QuestionAnswerIn] = Field(description="three different questions with their answers")


class CertificateOut(Schema):
    user_id: int
    login_id: str | None
    serial_number: str | None
    not_after: datetime | None
    issuance_enabled: bool


class CertificateObtainIn(Schema):
    login_id: str
    password: str


class CertificateObtainedOut(Schema):
    pkcs12: str = Field(description="the PKCS#12 file (base64): the certificate and its private key")
    password: str = Field(description="the one-time password that opens it; shown once")
    serial_number: str
    not_after: datetime


class OtpIn(Schema):
    otp: str = Field(description="the one-time password the app shows now")


class SoftwareTokenIssueIn(Schema):
    mail_address: str = Field(description="the phone's mail address; the app's download URL goes there")
    activation_password: str = Field(description="利用開始パスワード, asked by the phone app once")
    activation_password_again: str
    confirmation_password: str


class SoftwareTokenOut(Schema):
    state: str | None = Field(description="issued, provisioned, active, stopped, cancelled; null: none yet")
    state_label: str = Field(description="the state as the screens name it, e.g. サービス利用中")
    service_id: str
    token_user_id: str | None
    mail_address: str | None
    sender: str = Field(description="the one address every mail comes from (R-E11)")


class ProvisionIn(Schema):
    service_id: str
    user_id: str
    activation_password: str


class ProvisionedOut(Schema):
    secret: str = Field(description="the TOTP seed in base32, handed out once")
    algorithm: str
    digits: int
    period: int
    issuer: str
    account: str
    otpauth_uri: str = Field(description="the same as an otpauth:// Key URI for standard authenticator apps")


class TokenOut(Schema):
    user_id: int
    login_id: str | None
    serial: str | None
    stopped: bool


class StockImportOut(Schema):
    serials: list[str] = Field(description="the serial numbers now in stock")


class ShipmentIn(Schema):
    serials: list[str]
    fee_reason: str = Field("", description="'' (first tokens, free), 'additional' or 'reissue' (R-E3 fee)")
