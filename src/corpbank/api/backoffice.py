"""Back-office endpoints: operators enter procedures; a second operator approves (R-A1)."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from django.middleware.csrf import get_token
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile
from pydantic import StrictBool

from corpbank.api import security
from corpbank.api.schemas import (
    ERRORS,
    AuditEventOut,
    ContractApplicationIn,
    ContractOut,
    DecisionOut,
    LetterOut,
    OperatorAccountOut,
    OperatorLoginIn,
    OperatorOut,
    OperatorPasswordIn,
    PendingActionOut,
    PinsIn,
    ProcedureIn,
    RoleIn,
    SecondFactorEnrolmentOut,
    ShipmentIn,
    StockImportOut,
)
from corpbank.approvals import selectors as approval_selectors
from corpbank.approvals.models import PendingAction
from corpbank.backoffice import selectors as backoffice_selectors
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services import AccountInput, ContractApplication
from corpbank.backoffice.services.details import ApprovalNotConfirmed
from corpbank.core.errors import NotFound
from corpbank.organizations.models import Contract
from corpbank.tokens import pskc_import
from corpbank.tokens import services as tokens
from corpbank.web import sessions

router = Router(tags=["back office"])


def _operator(request: HttpRequest) -> Operator:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def action_out(action: PendingAction) -> PendingActionOut:
    return PendingActionOut(
        id=action.pk,
        kind=action.kind,
        summary=action.summary,
        status=action.status,
        contract_id=action.contract_id,
        entered_by=action.entered_by.login_name,
        entered_at=action.entered_at,
        decided_by=action.decided_by.login_name if action.decided_by else None,
        decided_at=action.decided_at,
        decision_reason=action.decision_reason,
    )


def contract_out(contract: Contract) -> ContractOut:
    return ContractOut(
        id=contract.pk,
        number=contract.number,
        organization_name=contract.organization.name,
        branch_code=contract.branch.code,
        login_method=contract.login_method,
        status=contract.status,
    )


def operator_account_out(operator: Operator) -> OperatorAccountOut:
    return OperatorAccountOut(
        id=operator.pk,
        login_name=operator.login_name,
        display_name=operator.display_name,
        role=operator.role,
        is_active=operator.is_active,
        second_factor=getattr(operator, "has_second_factor", False),
        locked_until=operator.principal.locked_until,
        suspended=operator.principal.is_suspended,
    )


@router.get("/csrf", auth=None, response={200: dict[str, str]})
def csrf(request: HttpRequest) -> dict[str, str]:
    """Sets the back office's own CSRF cookie (``corpbank_bo_csrftoken``) and returns its value."""
    return {"csrf_token": get_token(request)}


@router.post("/auth/login", auth=security.anonymous, response={200: OperatorOut, **ERRORS})
def login(request: HttpRequest, body: OperatorLoginIn) -> OperatorOut:
    """The password, then the authenticator app's one-time password (``otp``), each through the lockout.
    Without ``otp``: 401 ``second_factor_required``. An initial or expired password: 403
    ``password_change_required`` — after a right code when an app is registered, at once when none is;
    change it with ``/auth/password``. An operator without an app registered: 403
    ``second_factor_enrolment_required`` (register one with ``/auth/second-factor``)."""
    operator = backoffice.operator_log_in(
        login_name=body.login_name,
        password=body.password,
        otp=body.otp,
        ip_address=sessions.client_ip(request),
    )
    sessions.start_operator_session(request, operator)
    return OperatorOut(
        id=operator.pk,
        login_name=operator.login_name,
        display_name=operator.display_name,
        role=operator.role,
        csrf_token=get_token(request),
    )


class InitialPasswordIn(Schema):
    login_name: str
    password: str = Field(
        description="the initial password (both halves, from the two letters) or the expired one"
    )
    otp: str = Field("", description="the authenticator app's one-time password, if one is registered")
    new_password: str
    new_password_again: str


@router.post("/auth/password", auth=security.anonymous, response={204: None, **ERRORS})
def change_initial_password(request: HttpRequest, body: InitialPasswordIn) -> Status[None]:
    """初期パスワード・有効期限切れのパスワードの変更, a step of the login: the password, then, when an
    app is registered, its one-time password (``otp``; without it 401 ``second_factor_required``), each
    through the lockout, then the operator's own (the credential rules, not the login name, not the
    one it replaces). Starts no session. 409 when no change is due (``/password`` changes it then)."""
    backoffice.change_password_before_login(
        login_name=body.login_name,
        password=body.password,
        otp=body.otp,
        new_password=body.new_password,
        new_password_again=body.new_password_again,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


class PasswordChangeIn(Schema):
    current_password: str
    new_password: str
    new_password_again: str


@router.post("/password", auth=security.operator, response={204: None, **ERRORS})
def change_password(request: HttpRequest, body: PasswordChangeIn) -> Status[None]:
    """パスワードの変更 by the signed-in operator: 401 ``invalid_credentials`` for a wrong current password
    (counted by the lockout), 422 ``validation_failed`` naming ``new_password``."""
    backoffice.change_password(
        _operator(request),
        current_password=body.current_password,
        new_password=body.new_password,
        new_password_again=body.new_password_again,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


@router.post(
    "/auth/second-factor", auth=security.anonymous, response={201: SecondFactorEnrolmentOut, **ERRORS}
)
def enrol_second_factor(request: HttpRequest, body: OperatorPasswordIn) -> Status[SecondFactorEnrolmentOut]:
    """認証アプリの登録 of an operator who has none (the first login, or after the administrators'
    reset): after the password, a new key, shown once; the first login with its code confirms it.
    403 ``password_change_required`` while the password is an initial one; 409 once an app is
    registered."""
    ip_address = sessions.client_ip(request)
    operator = backoffice.check_password(
        login_name=body.login_name, password=body.password, ip_address=ip_address
    )
    enrolment = backoffice.start_enrolment(operator, ip_address=ip_address)
    return Status(
        201,
        SecondFactorEnrolmentOut(
            otpauth_uri=enrolment.otpauth_uri(),
            secret=enrolment.secret_base32,
            period=enrolment.period,
            digits=enrolment.digits,
            algorithm=enrolment.algorithm,
        ),
    )


@router.post("/auth/logout", auth=security.operator, response={204: None, **ERRORS})
def logout(request: HttpRequest) -> Status[None]:
    sessions.end_session(request)
    return Status(204, None)


@router.get("/actions", auth=security.operator, response={200: list[PendingActionOut], **ERRORS})
def pending(request: HttpRequest) -> list[PendingActionOut]:
    """The pending procedures: an administrator's are the operators' (職員管理), the others' the rest."""
    actions = approval_selectors.pending_actions()
    if _operator(request).administers:
        actions = actions.filter(kind__in=backoffice.OPERATOR_PROCEDURE_KINDS)
    else:
        actions = actions.exclude(kind__in=backoffice.OPERATOR_PROCEDURE_KINDS)
    return [action_out(action) for action in actions]


@router.post("/contracts", auth=security.operator, response={202: PendingActionOut, **ERRORS})
def register_contract(request: HttpRequest, body: ContractApplicationIn) -> Status[PendingActionOut]:
    """Enter a new contract from the paper application; takes effect on a second operator's approval."""
    action = backoffice.enter_contract_registration(
        _operator(request),
        ContractApplication(
            organization_name=body.organization_name,
            organization_name_kana=body.organization_name_kana,
            branch_code=body.branch_code,
            master_name=body.master_name,
            accounts=[AccountInput(a.branch_code, a.type, a.number) for a in body.accounts],
            login_method=body.login_method,
            pins=body.pins,
            limits={limit.kind: (limit.per_transaction, limit.per_day) for limit in body.limits},
            otp_required=body.otp_required,
            notification_email=body.notification_email,
            software_tokens=body.software_tokens,
        ),
        ip_address=sessions.client_ip(request),
    )
    return Status(202, action_out(action))


@router.get("/contracts", auth=security.operator, response={200: list[ContractOut], **ERRORS})
def list_contracts(request: HttpRequest, q: str = "") -> list[ContractOut]:
    return [contract_out(contract) for contract in backoffice_selectors.contracts(q)[:200]]


@router.get("/contracts/{contract_id}", auth=security.operator, response={200: ContractOut, **ERRORS})
def get_contract(request: HttpRequest, contract_id: int) -> ContractOut:
    contract = backoffice_selectors.contracts().filter(pk=contract_id).first()
    if contract is None:
        raise NotFound()
    return contract_out(contract)


@router.post(
    "/contracts/{contract_id}/procedures/{procedure}",
    auth=security.operator,
    response={202: PendingActionOut, **ERRORS},
)
def enter_procedure(
    request: HttpRequest, contract_id: int, procedure: str, body: ProcedureIn | None = None
) -> Status[PendingActionOut]:
    """start-otp (R-E2), start-software-tokens (R-E9), initialize-master (R-B8), lift-master-lock (R-C3),
    lift-master-token-lock (R-C4), reset-master-questions (R-D3), enable-master-certificate and
    revoke-certificate (R-F3, R-F4), stop-software-token and cancel-software-token (R-E10),
    emergency-stop and lift-emergency-stop (R-F5)."""
    action = backoffice.enter_procedure(
        _operator(request),
        contract_id,
        procedure,
        reason=body.reason if body else "",
        token_user_id=body.token_user_id if body else "",
        login_id=body.login_id if body else "",
        ip_address=sessions.client_ip(request),
    )
    return Status(202, action_out(action))


class AccountOpeningIn(Schema):
    branch_code: str
    type: str = Field(description="1 普通, 2 当座")
    number: str = Field(description="7 digits (full width read)")


@router.post(
    "/contracts/{contract_id}/accounts", auth=security.operator, response={202: PendingActionOut, **ERRORS}
)
def enter_account_opening(
    request: HttpRequest, contract_id: int, body: AccountOpeningIn
) -> Status[PendingActionOut]:
    """口座の追加: an account becomes the contract's once another operator approves (opened in the
    embedded ledger, in the organization's kana name, if it does not hold it yet)."""
    action = backoffice.enter_account_opening(
        _operator(request),
        contract_id,
        branch_code=body.branch_code,
        type=body.type,
        number=body.number,
        ip_address=sessions.client_ip(request),
    )
    return Status(202, action_out(action))


@router.post(
    "/contracts/{contract_id}/pins", auth=security.operator, response={202: PendingActionOut, **ERRORS}
)
def change_pins(request: HttpRequest, contract_id: int, body: PinsIn) -> Status[PendingActionOut]:
    """暗証番号変更 on the paper form (R-B4)."""
    action = backoffice.enter_pin_change(
        _operator(request), contract_id, body.pins, ip_address=sessions.client_ip(request)
    )
    return Status(202, action_out(action))


class DetailOut(Schema):
    name: str = Field(description="stable: a payload key, or key.index for a list's items")
    label: str = Field(description="in the session's language")
    value: str = Field(description="what the entry asks for (for a change: the value after approval)")
    before: str | None = Field(None, description="for a pending change: the value now")


class ActionDetailOut(PendingActionOut):
    details: list[DetailOut] = Field(description="every field of the entry, labelled; never a secret")
    may_decide: bool = Field(description="whether the caller may approve or reject it now")


class ApproveIn(Schema):
    # JSON true only: "yes", 1 or "true" would be a confirmation nobody gave.
    confirmed: StrictBool = Field(
        False, description="must be true: the approver read the entry (GET /actions/{id}) and confirms it"
    )


@router.get("/actions/{action_id}", auth=security.operator, response={200: ActionDetailOut, **ERRORS})
def action_detail(request: HttpRequest, action_id: int) -> ActionDetailOut:
    """A procedure's entry as the approver reads it: every field labelled and, while it is pending, for a
    change what each field is now (``before``)."""
    view = backoffice_selectors.action_view(action_id, _operator(request))
    return ActionDetailOut(
        **action_out(view.action).model_dump(),
        details=[
            DetailOut(
                name=detail.name,
                label=detail.label,
                value=detail.value,
                before=detail.before if view.shows_before else None,
            )
            for detail in view.details
        ],
        may_decide=view.may_decide,
    )


class OperatorLetterOut(Schema):
    login_name: str
    display_name: str
    half: str = Field(description='"second" (the approver\'s, at approval) or "first" (the entrant\'s)')
    password_half: str = Field(
        description="one half of the initial password, shown in this answer only; never stored in clear; "
        "the operator types the first half then the second, and must change the password at the next login"
    )
    other_administrator: str = Field(description="who hands the operator the other half")


class OperatorDecisionOut(DecisionOut):
    operator_letter: OperatorLetterOut | None = Field(
        None,
        description="職員の登録 and パスワードの再発行: the second half of the operator's initial password "
        "(the entrant takes the first from POST /actions/{id}/password-half)",
    )


@router.post(
    "/actions/{action_id}/approve", auth=security.operator, response={200: OperatorDecisionOut, **ERRORS}
)
def approve(request: HttpRequest, action_id: int, body: ApproveIn | None = None) -> OperatorDecisionOut:
    """承認: with ``{"confirmed": true}`` only, as the screen asks for 「内容を確認しました」; otherwise 422
    ``validation_failed`` naming ``confirmed``, and nothing is approved. Approvers decide the paper
    procedures; administrators the operators' (not their own entry, not one about themselves)."""
    if body is None or not body.confirmed:
        raise ApprovalNotConfirmed()
    decision = backoffice.approve(_operator(request), action_id, ip_address=sessions.client_ip(request))
    letter, operator_letter = decision.letter, decision.operator_letter
    return OperatorDecisionOut(
        action=action_out(decision.action),
        letter=LetterOut(**letter.__dict__) if letter else None,
        operator_letter=OperatorLetterOut(**operator_letter.__dict__) if operator_letter else None,
    )


@router.post(
    "/actions/{action_id}/password-half", auth=security.operator, response={200: OperatorLetterOut, **ERRORS}
)
def password_half(request: HttpRequest, action_id: int) -> OperatorLetterOut:
    """The first half of the initial password an approved 職員の登録 or パスワードの再発行 issued, for the
    administrator who entered it, once (then erased); 404 for anyone else, or once shown."""
    letter = backoffice.show_first_half(_operator(request), action_id, ip_address=sessions.client_ip(request))
    return OperatorLetterOut(**letter.__dict__)


class RejectIn(Schema):
    reason: str = Field("", description="却下の理由 (optional, at most 200 characters): shown on the entry")


@router.post(
    "/actions/{action_id}/reject", auth=security.operator, response={200: PendingActionOut, **ERRORS}
)
def reject(request: HttpRequest, action_id: int, body: RejectIn | None = None) -> PendingActionOut:
    return action_out(
        backoffice.reject(
            _operator(request),
            action_id,
            ip_address=sessions.client_ip(request),
            reason=body.reason if body else "",
        )
    )


@router.post(
    "/actions/{action_id}/withdraw", auth=security.operator, response={200: PendingActionOut, **ERRORS}
)
def withdraw(request: HttpRequest, action_id: int) -> PendingActionOut:
    """取消: the entrant takes back their own entry before anybody decided it (403 for anybody else,
    409 once it is decided)."""
    return action_out(
        backoffice.withdraw(_operator(request), action_id, ip_address=sessions.client_ip(request))
    )


@router.get("/audit", auth=security.operator, response={200: list[AuditEventOut], **ERRORS})
def audit(
    request: HttpRequest,
    action: str = "",
    contract_number: str = "",
    login_id: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    actor: str = "",
) -> list[AuditEventOut]:
    """Search every audit event (R-I3). ``action``: an event name, ``group:<key>`` (the groups of
    core.audit_labels), or the start of names (``login.``); ``actor``: part of an operator's or a
    customer's name or login."""
    events = backoffice_selectors.search_audit(
        action=action,
        contract_number=contract_number,
        login_id=login_id,
        date_from=date_from,
        date_to=date_to,
        actor=actor,
    )
    return [AuditEventOut.from_orm(event) for event in events]


@router.post(
    "/contracts/{contract_id}/tokens", auth=security.operator, response={202: PendingActionOut, **ERRORS}
)
def ship_tokens(request: HttpRequest, contract_id: int, body: ShipmentIn) -> Status[PendingActionOut]:
    """パスワード生成機の発送 from the stock, with the fee for additional and reissued tokens (R-E3, R-E5)."""
    action = backoffice.enter_token_shipment(
        _operator(request),
        contract_id,
        body.serials,
        fee_reason=body.fee_reason,
        ip_address=sessions.client_ip(request),
    )
    return Status(202, action_out(action))


@router.post("/tokens/import", auth=security.operator, response={201: StockImportOut, **ERRORS})
def import_tokens(
    request: HttpRequest,
    file: File[UploadedFile],
    key_hex: Form[str] = "",
    password: Form[str] = "",
) -> Status[StockImportOut]:
    """パスワード生成機の在庫の取込み: a PSKC file (RFC 6030) as multipart/form-data, with the pre-shared
    key in hex or the file's password; all or nothing."""
    backoffice.require_entrant(_operator(request))
    stocked = pskc_import.import_stock(
        file,
        actor=backoffice.operator_actor(_operator(request), sessions.client_ip(request)),
        preshared_key=pskc_import.key_from_hex(key_hex),
        password=password or None,
        file_name=file.name or "",
    )
    return Status(201, StockImportOut(serials=[token.serial for token in stocked]))


@router.post("/tokens/{serial}/lost", auth=security.operator, response={204: None, **ERRORS})
def token_lost(request: HttpRequest, serial: str) -> Status[None]:
    """紛失: disabled at once and for ever (R-E6)."""
    backoffice.require_entrant(_operator(request))
    tokens.report_lost(
        serial=serial, actor=backoffice.operator_actor(_operator(request), sessions.client_ip(request))
    )
    return Status(204, None)


@router.get("/operators", auth=security.operator, response={200: list[OperatorAccountOut], **ERRORS})
def list_operators(request: HttpRequest) -> list[OperatorAccountOut]:
    """職員管理 (administrators only)."""
    backoffice.require_administrator(_operator(request))
    return [operator_account_out(operator) for operator in backoffice_selectors.operators()]


class OperatorEntryIn(Schema):
    login_name: str
    display_name: str
    role: str = Field("clerk", description="clerk, approver or admin")


@router.post("/operators", auth=security.operator, response={202: PendingActionOut, **ERRORS})
def create_operator(request: HttpRequest, body: OperatorEntryIn) -> Status[PendingActionOut]:
    """職員の登録 (administrators only), entered: the operator exists once another administrator approves
    it (``/actions/{id}/approve``, whose answer carries the second half of the generated initial
    password, once; the entrant takes the first half from ``/actions/{id}/password-half``)."""
    action = backoffice.enter_operator_registration(
        _operator(request),
        login_name=body.login_name,
        display_name=body.display_name,
        role=body.role,
        ip_address=sessions.client_ip(request),
    )
    return Status(202, action_out(action))


@router.post(
    "/operators/{operator_id}/role", auth=security.operator, response={202: PendingActionOut, **ERRORS}
)
def change_role(request: HttpRequest, operator_id: int, body: RoleIn) -> Status[PendingActionOut]:
    """権限の変更 (administrators only), entered; another administrator approves it."""
    action = backoffice.enter_role_change(
        _operator(request), operator_id, body.role, ip_address=sessions.client_ip(request)
    )
    return Status(202, action_out(action))


@router.post(
    "/operators/{operator_id}/{act}", auth=security.operator, response={202: PendingActionOut, **ERRORS}
)
def operator_act(request: HttpRequest, operator_id: int, act: str) -> Status[PendingActionOut]:
    """Administrators only, entered; another administrator (not the operator concerned) approves it:
    unlock (ロックアウト・利用停止の解除), reset-password (パスワードの再発行; refused while the operator has
    no authenticator app), reset-second-factor (認証アプリの再登録; refused while the password is an
    initial one), deactivate (利用停止)."""
    action = backoffice.enter_operator_procedure(
        _operator(request), operator_id, act, ip_address=sessions.client_ip(request)
    )
    return Status(202, action_out(action))
