"""The bank's back office: operators, and the paper procedures they carry out (R-A1, R-B4, R-B7, R-B8,
R-C3, R-F5).

Every act that changes a customer's credentials or status is *entered* by one operator and takes
effect only when a *second* operator approves it (four-eyes). The database refuses a row where the
approver is the entrant. Secrets entered (PINs) are hashed at entry; an initial password is generated
at approval and shown once, on the letter, never stored in clear."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.approvals.models import PendingAction
from corpbank.authentication import risk
from corpbank.backoffice.models import Operator
from corpbank.certificates import services as certificates
from corpbank.certificates.models import ClientCertificate
from corpbank.core import audit
from corpbank.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidCredentials,
    NotFound,
    ValidationFailed,
)
from corpbank.core.policy import current_policy
from corpbank.identity import lockout
from corpbank.identity.credentials import (
    character_rule_problem,
    check_pin_format,
    generate_initial_password,
    is_mail_address,
    store_pin,
    store_secret,
)
from corpbank.identity.hashing import hash_secret, verify_nothing
from corpbank.identity.models import CONTRACT_PIN_KINDS, Principal, Secret, SecretKind
from corpbank.organizations.models import Account, Branch, Contract, CustomerUser, Organization, UsageLimit
from corpbank.tokens import selectors as token_selectors
from corpbank.tokens import services as tokens
from corpbank.tokens import softtokens
from corpbank.tokens.models import SoftwareTokenEnrolment, Token, TokenFee

DEFAULT_CONTRACT_LIMITS = {kind: (10_000_000, 30_000_000) for kind in UsageLimit.Kind.values}


def operator_actor(operator: Operator, ip_address: str = "") -> audit.Actor:
    return audit.Actor(type="operator", id=operator.pk, label=operator.login_name, ip_address=ip_address)


# ---------------------------------------------------------------------------------------------------
# Operators


def create_operator(*, login_name: str, display_name: str, password: str) -> Operator:
    if problem := character_rule_problem(password):
        raise ValidationFailed(problem, fields={"password": problem})
    with transaction.atomic(durable=True):
        if Operator.objects.filter(login_name=login_name).exists():
            raise Conflict(_("このログイン名の職員は既に登録されています。"))
        principal = Principal.objects.create(kind=Principal.Kind.OPERATOR)
        operator = Operator.objects.create(
            principal=principal, login_name=login_name, display_name=display_name
        )
        store_secret(principal_id=principal.pk, kind=SecretKind.LOGIN_PASSWORD, plain=password)
        audit.record(
            "operator.created",
            actor=audit.Actor.system("corpbank createoperator"),
            details={"login_name": login_name},
        )
    return operator


def operator_log_in(*, login_name: str, password: str, ip_address: str = "") -> Operator:
    operator = Operator.objects.filter(login_name=login_name, is_active=True).first()
    if operator is None:
        verify_nothing(password)
        raise InvalidCredentials()
    actor = operator_actor(operator, ip_address)

    def check() -> lockout.Verdict:
        return lockout.check_principal_secret(
            principal_id=operator.principal_id,
            kind=SecretKind.LOGIN_PASSWORD,
            candidate=password,
            actor=actor,
        )

    def act() -> Operator:
        audit.record("operator.login", actor=actor)
        return operator

    return lockout.verified(check, act, refused=InvalidCredentials)


# ---------------------------------------------------------------------------------------------------
# Entering procedures


@dataclasses.dataclass(frozen=True)
class AccountInput:
    branch_code: str
    type: str
    number: str


@dataclasses.dataclass(frozen=True)
class ContractApplication:
    """The paper application for a new contract, as the operator types it in."""

    organization_name: str
    organization_name_kana: str
    branch_code: str
    master_name: str
    accounts: list[AccountInput]
    login_method: str
    pins: dict[str, str]
    limits: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    # ワンタイムパスワードを利用する: the operations of the OTP column then need a token's code (R-E2).
    otp_required: bool = False
    # Where the bank's notices go (R-I4).
    notification_email: str = ""


def _invalid(fields: dict[str, str]) -> ValidationFailed:
    return ValidationFailed(_("入力内容をご確認ください。"), fields=fields)


def _check_pins(pins: dict[str, str], *, all_required: bool) -> dict[str, str]:
    """Validate PINs and return them hashed, so the queue never holds one in clear."""
    problems: dict[str, str] = {}
    hashed: dict[str, str] = {}
    for kind in CONTRACT_PIN_KINDS:
        value = pins.get(kind, "")
        if not value and not all_required:
            continue
        if problem := check_pin_format(value):
            problems[str(kind)] = problem
        else:
            hashed[str(kind)] = hash_secret(value)
    if problems:
        raise _invalid(problems)
    if not hashed:
        raise _invalid({"pins": _("変更する暗証番号を入力してください。")})
    return hashed


def _enter(
    operator: Operator,
    kind: str,
    *,
    contract: Contract | None,
    payload: dict[str, Any],
    summary: str,
    ip_address: str,
) -> PendingAction:
    with transaction.atomic(durable=True):
        action = PendingAction.objects.create(
            kind=kind, contract=contract, payload=payload, summary=summary, entered_by=operator
        )
        audit.record(
            "backoffice.entered",
            actor=operator_actor(operator, ip_address),
            contract_id=contract.pk if contract else None,
            details={"action_id": action.pk, "kind": kind, "summary": summary},
        )
    return action


def enter_contract_registration(
    operator: Operator, application: ContractApplication, *, ip_address: str = ""
) -> PendingAction:
    problems: dict[str, str] = {}
    if not application.organization_name.strip():
        problems["organization_name"] = _("団体名を入力してください。")
    if not _is_half_width_kana(application.organization_name_kana):
        problems["organization_name_kana"] = _("団体名（カナ）は半角カナで入力してください。")
    if not Branch.objects.filter(code=application.branch_code).exists():
        problems["branch_code"] = _("店番が見つかりません。")
    if not application.master_name.strip():
        problems["master_name"] = _("マスターユーザ名を入力してください。")
    if application.notification_email and not is_mail_address(application.notification_email):
        problems["notification_email"] = _("メールアドレスの形式をご確認ください。")
    if application.login_method not in Contract.LoginMethod.values:
        problems["login_method"] = _("ログイン方式を選択してください。")
    elif application.login_method not in settings.CORPBANK_LOGIN_METHODS:
        problems["login_method"] = _("当金庫ではこのログイン方式をお取扱いしていません。")
    if not application.accounts:
        problems["accounts"] = _("口座を1つ以上入力してください。")
    for index, account in enumerate(application.accounts):
        if (
            not Branch.objects.filter(code=account.branch_code).exists()
            or account.type not in Account.Type.values
            or not (account.number.isdigit() and len(account.number) == 7)
        ):
            problems[f"accounts.{index}"] = _("口座（店番・科目・口座番号7桁）をご確認ください。")
        elif Account.objects.filter(
            branch__code=account.branch_code, type=account.type, number=account.number
        ).exists():
            problems[f"accounts.{index}"] = _("この口座は既に他の契約に登録されています。")
    limits = {**DEFAULT_CONTRACT_LIMITS, **application.limits}
    for kind, (per_transaction, per_day) in limits.items():
        if kind not in UsageLimit.Kind.values or not 0 <= per_transaction <= per_day:
            problems[f"limit_{kind}"] = _("利用限度額をご確認ください。")
    try:
        hashed_pins = _check_pins(application.pins, all_required=True)
    except ValidationFailed as error:
        problems.update(error.fields)
    if problems:
        raise _invalid(problems)
    payload = {
        "organization_name": application.organization_name.strip(),
        "organization_name_kana": application.organization_name_kana,
        "branch_code": application.branch_code,
        "master_name": application.master_name.strip(),
        "accounts": [dataclasses.asdict(a) for a in application.accounts],
        "login_method": application.login_method,
        "pin_hashes": hashed_pins,
        "limits": {kind: list(values) for kind, values in limits.items()},
        "otp_required": bool(application.otp_required),
        "notification_email": application.notification_email.strip(),
    }
    summary = _("契約の新規登録: %(name)s") % {"name": payload["organization_name"]}
    return _enter(
        operator, "register_contract", contract=None, payload=payload, summary=summary, ip_address=ip_address
    )


def _is_half_width_kana(value: str) -> bool:
    # Half-width katakana, digits, upper-case letters, space and the Zengin symbols ( ) . - /
    allowed = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ().-/")
    return bool(value) and all(c in allowed or "\uff66" <= c <= "\uff9f" for c in value)


def _contract(contract_id: int | None) -> Contract:
    contract = (
        Contract.objects.select_related("organization").filter(pk=contract_id).first()
        if contract_id
        else None
    )
    if contract is None:
        raise NotFound(_("契約が見つかりません。"))
    return contract


def enter_master_initialization(
    operator: Operator, contract_id: int, *, ip_address: str = ""
) -> PendingAction:
    """ログインID・ログインパスワード・確認用パスワードの初期化 (R-B8)."""
    contract = _contract(contract_id)
    return _enter(
        operator,
        "initialize_master",
        contract=contract,
        payload={},
        summary=_("マスターユーザのログインID・パスワードの初期化"),
        ip_address=ip_address,
    )


def enter_master_lock_lift(operator: Operator, contract_id: int, *, ip_address: str = "") -> PendingAction:
    contract = _contract(contract_id)
    return _enter(
        operator,
        "lift_master_lock",
        contract=contract,
        payload={},
        summary=_("マスターユーザの利用停止解除"),
        ip_address=ip_address,
    )


def enter_emergency_stop(
    operator: Operator, contract_id: int, *, reason: str, ip_address: str = ""
) -> PendingAction:
    contract = _contract(contract_id)
    if contract.status != Contract.Status.ACTIVE:
        raise Conflict(_("この契約は利用中ではありません。"))
    return _enter(
        operator,
        "emergency_stop",
        contract=contract,
        payload={"reason": reason[:200]},
        summary=_("緊急停止"),
        ip_address=ip_address,
    )


def enter_emergency_stop_lift(operator: Operator, contract_id: int, *, ip_address: str = "") -> PendingAction:
    contract = _contract(contract_id)
    if contract.status != Contract.Status.EMERGENCY_STOPPED:
        raise Conflict(_("この契約は緊急停止中ではありません。"))
    return _enter(
        operator,
        "lift_emergency_stop",
        contract=contract,
        payload={},
        summary=_("緊急停止の解除"),
        ip_address=ip_address,
    )


def enter_pin_change(
    operator: Operator, contract_id: int, pins: dict[str, str], *, ip_address: str = ""
) -> PendingAction:
    """暗証番号変更 on the paper form (R-B4)."""
    contract = _contract(contract_id)
    hashed = _check_pins(pins, all_required=False)
    return _enter(
        operator,
        "change_pins",
        contract=contract,
        payload={"pin_hashes": hashed},
        summary=_("暗証番号の変更"),
        ip_address=ip_address,
    )


def enter_token_shipment(
    operator: Operator, contract_id: int, serials: list[str], *, fee_reason: str = "", ip_address: str = ""
) -> PendingAction:
    """パスワード生成機の発送: tokens from the stock to the organization (R-E1, R-E5); for an additional
    token or a reissue after loss, with the bank's fee (R-E3)."""
    contract = _contract(contract_id)
    if fee_reason and fee_reason not in TokenFee.Reason.values:
        raise _invalid({"fee_reason": _("発行区分をご確認ください。")})
    wanted = sorted({serial.strip().upper() for serial in serials if serial.strip()})
    if not wanted:
        raise _invalid({"serials": _("シリアル番号を入力してください。")})
    in_stock = set(
        Token.objects.filter(serial__in=wanted, state=Token.State.IN_STOCK).values_list("serial", flat=True)
    )
    missing = [serial for serial in wanted if serial not in in_stock]
    if missing:
        raise _invalid(
            {"serials": _("在庫にないシリアル番号: %(serials)s") % {"serials": ", ".join(missing)}}
        )
    return _enter(
        operator,
        "ship_tokens",
        contract=contract,
        payload={"serials": wanted, "fee_reason": fee_reason},
        summary=_("パスワード生成機の発送（%(count)d台）") % {"count": len(wanted)},
        ip_address=ip_address,
    )


def enter_otp_application(operator: Operator, contract_id: int, *, ip_address: str = "") -> PendingAction:
    """ワンタイムパスワード申込書: from its approval the contract's OTP-column operations need a code, and
    its users register a token at their next login (R-E2, R-E7)."""
    contract = _contract(contract_id)
    if contract.otp_required:
        raise Conflict(_("この契約は既にワンタイムパスワードを利用しています。"))
    return _enter(
        operator,
        "start_otp",
        contract=contract,
        payload={},
        summary=_("ワンタイムパスワードの利用開始"),
        ip_address=ip_address,
    )


def enter_master_token_lock_lift(
    operator: Operator, contract_id: int, *, ip_address: str = ""
) -> PendingAction:
    """The stop of the token the master uses is lifted by the bank after a paper procedure (R-C4)."""
    contract = _contract(contract_id)
    return _enter(
        operator,
        "lift_master_token_lock",
        contract=contract,
        payload={},
        summary=_("マスターユーザのパスワード生成機の利用停止解除"),
        ip_address=ip_address,
    )


def enter_software_token_application(
    operator: Operator, contract_id: int, *, ip_address: str = ""
) -> PendingAction:
    """ワンタイムパスワード申込書 for software tokens (R-E9 step 1)."""
    contract = _contract(contract_id)
    if contract.software_tokens:
        raise Conflict(_("この契約は既にソフトウェアトークンを利用できます。"))
    return _enter(
        operator,
        "start_software_tokens",
        contract=contract,
        payload={},
        summary=_("ソフトウェアトークンのお取扱い開始"),
        ip_address=ip_address,
    )


def enter_master_questions_reset(
    operator: Operator, contract_id: int, *, ip_address: str = ""
) -> PendingAction:
    """追加認証(合言葉認証)の初期化 of the master, on the paper form (R-D3)."""
    contract = _contract(contract_id)
    _master(contract)
    return _enter(
        operator,
        "reset_master_questions",
        contract=contract,
        payload={},
        summary=_("マスターユーザの追加認証(合言葉認証)の初期化"),
        ip_address=ip_address,
    )


def enter_master_certificate_issuance(
    operator: Operator, contract_id: int, *, ip_address: str = ""
) -> PendingAction:
    """The master's certificate: issuance enabled by the bank on paper (R-F3, R-F4)."""
    contract = _contract(contract_id)
    _master(contract)
    if contract.login_method != Contract.LoginMethod.CERTIFICATE:
        raise Conflict(_("このご契約はID・パスワード方式です。電子証明書は不要です。"))
    return _enter(
        operator,
        "enable_master_certificate",
        contract=contract,
        payload={},
        summary=_("マスターユーザの電子証明書発行"),
        ip_address=ip_address,
    )


def enter_certificate_revocation(
    operator: Operator, contract_id: int, login_id: str, *, ip_address: str = ""
) -> PendingAction:
    """電子証明書の失効 on paper, when a PC was disposed of without revoking it (R-F3)."""

    contract = _contract(contract_id)
    user = CustomerUser.objects.filter(contract=contract, login_id=login_id.strip()).first()
    if user is None or not ClientCertificate.objects.filter(user=user, status="active").exists():
        raise _invalid({"login_id": _("有効な電子証明書をお持ちの利用者が見つかりません。")})
    return _enter(
        operator,
        "revoke_certificate",
        contract=contract,
        payload={"user_id": user.pk},
        summary=_("電子証明書の失効（ログインID %(login_id)s）") % {"login_id": user.login_id},
        ip_address=ip_address,
    )


def enter_software_token_end(
    operator: Operator, contract_id: int, token_user_id: str, *, cancel: bool, ip_address: str = ""
) -> PendingAction:
    """ソフトウェアトークンの利用停止 (a lost phone, or ten wrong codes: the user issues a new one to resume)
    or ご利用解除, on the customer's paper form (R-E10)."""
    contract = _contract(contract_id)
    enrolment = (
        SoftwareTokenEnrolment.objects.filter(token_user_id=token_user_id.strip(), token__contract=contract)
        .filter(state__in=SoftwareTokenEnrolment.LIVE_STATES)
        .first()
    )
    if enrolment is None:
        raise _invalid({"token_user_id": _("対象のソフトウェアトークンが見つかりません。")})
    return _enter(
        operator,
        "cancel_software_token" if cancel else "stop_software_token",
        contract=contract,
        payload={"token_user_id": enrolment.token_user_id},
        summary=(
            _("ソフトウェアトークンのご利用解除（ユーザID %(id)s）")
            if cancel
            else _("ソフトウェアトークンの利用停止（ユーザID %(id)s）")
        )
        % {"id": enrolment.token_user_id},
        ip_address=ip_address,
    )


def enter_procedure(
    operator: Operator,
    contract_id: int,
    procedure: str,
    *,
    reason: str = "",
    token_user_id: str = "",
    login_id: str = "",
    ip_address: str = "",
) -> PendingAction:
    """Enter a contract procedure by its name in URLs: start-otp, start-software-tokens,
    initialize-master, lift-master-lock, lift-master-token-lock, reset-master-questions,
    enable-master-certificate, revoke-certificate (with the user's login ID), emergency-stop (with a
    reason),
    lift-emergency-stop, stop-software-token or cancel-software-token (with the token's user ID)."""
    if procedure == "emergency-stop":
        return enter_emergency_stop(operator, contract_id, reason=reason, ip_address=ip_address)
    if procedure == "revoke-certificate":
        return enter_certificate_revocation(operator, contract_id, login_id, ip_address=ip_address)
    if procedure in ("stop-software-token", "cancel-software-token"):
        return enter_software_token_end(
            operator,
            contract_id,
            token_user_id,
            cancel=procedure == "cancel-software-token",
            ip_address=ip_address,
        )
    simple = {
        "start-otp": enter_otp_application,
        "start-software-tokens": enter_software_token_application,
        "initialize-master": enter_master_initialization,
        "lift-master-lock": enter_master_lock_lift,
        "lift-master-token-lock": enter_master_token_lock_lift,
        "reset-master-questions": enter_master_questions_reset,
        "enable-master-certificate": enter_master_certificate_issuance,
        "lift-emergency-stop": enter_emergency_stop_lift,
    }
    if procedure not in simple:
        raise NotFound(_("不明な手続です。"))
    return simple[procedure](operator, contract_id, ip_address=ip_address)


# ---------------------------------------------------------------------------------------------------
# Deciding


@dataclasses.dataclass(frozen=True)
class InitialPasswordLetter:
    """What the bank prints and mails to the organization (R-B7). Shown once, never stored."""

    contract_number: str
    organization_name: str
    master_name: str
    initial_password: str
    expires_at: datetime


@dataclasses.dataclass(frozen=True)
class Decision:
    action: PendingAction
    letter: InitialPasswordLetter | None = None


def approve(operator: Operator, action_id: int, *, ip_address: str = "") -> Decision:
    actor = operator_actor(operator, ip_address)
    with transaction.atomic(durable=True):
        action = PendingAction.objects.select_for_update().filter(pk=action_id).first()
        if action is None:
            raise NotFound()
        if action.status != PendingAction.Status.PENDING:
            raise Conflict(_("この手続は既に処理されています。"))
        if action.entered_by_id == operator.pk:
            raise Forbidden(_("入力した職員とは別の職員が承認してください。"))
        letter = EXECUTORS[action.kind](action, actor)
        PendingAction.objects.filter(pk=action.pk).update(
            status=PendingAction.Status.APPROVED,
            decided_by=operator,
            decided_at=timezone.now(),
            contract=action.contract,
        )
        audit.record(
            "backoffice.approved",
            actor=actor,
            contract_id=action.contract_id,
            details={"action_id": action.pk, "kind": action.kind, "entered_by": action.entered_by_id},
        )
        action.refresh_from_db()
    return Decision(action=action, letter=letter)


def reject(operator: Operator, action_id: int, *, ip_address: str = "") -> PendingAction:
    actor = operator_actor(operator, ip_address)
    with transaction.atomic(durable=True):
        action = PendingAction.objects.select_for_update().filter(pk=action_id).first()
        if action is None:
            raise NotFound()
        if action.status != PendingAction.Status.PENDING:
            raise Conflict(_("この手続は既に処理されています。"))
        PendingAction.objects.filter(pk=action.pk).update(
            status=PendingAction.Status.REJECTED, decided_by=operator, decided_at=timezone.now()
        )
        audit.record(
            "backoffice.rejected",
            actor=actor,
            contract_id=action.contract_id,
            details={"action_id": action.pk, "kind": action.kind},
        )
        action.refresh_from_db()
    return action


def _master(contract: Contract) -> CustomerUser:
    master = (
        CustomerUser.objects.filter(contract=contract, role=CustomerUser.Role.MASTER)
        .exclude(status=CustomerUser.Status.DELETED)
        .first()
    )
    if master is None:
        raise DomainError(_("マスターユーザが見つかりません。"))
    return master


def _issue_initial_password(contract: Contract, master: CustomerUser) -> InitialPasswordLetter:
    initial = generate_initial_password()
    expires_at = timezone.now() + current_policy().initial_password_validity
    store_secret(
        principal_id=master.principal_id,
        kind=SecretKind.INITIAL_PASSWORD,
        plain=initial,
        expires_at=expires_at,
    )
    return InitialPasswordLetter(
        contract.number, contract.organization.name, master.name, initial, expires_at
    )


def _next_contract_number(branch: Branch) -> str:
    # Branch code and a 7-digit serial; the unique constraint guards the race, the lock on the chain
    # head taken by every audited act serialises registrations in practice.
    last = Contract.objects.filter(number__startswith=branch.code).aggregate(last=Max("number"))["last"]
    serial = int(last[3:]) + 1 if last else 1
    return f"{branch.code}{serial:07d}"


def _execute_register_contract(action: PendingAction, actor: audit.Actor) -> InitialPasswordLetter:
    data = action.payload
    branch = Branch.objects.get(code=data["branch_code"])
    organization = Organization.objects.create(
        name=data["organization_name"],
        name_kana=data["organization_name_kana"],
        notification_email=data.get("notification_email", ""),
    )
    contract = Contract.objects.create(
        number=_next_contract_number(branch),
        organization=organization,
        branch=branch,
        login_method=data["login_method"],
        otp_required=data.get("otp_required", False),
    )
    for account in data["accounts"]:
        Account.objects.create(
            contract=contract,
            branch=Branch.objects.get(code=account["branch_code"]),
            type=account["type"],
            number=account["number"],
        )
    for kind, pin_hash in data["pin_hashes"].items():
        store_pin(contract_id=contract.pk, kind=kind, pin_hash=pin_hash)
    for kind, (per_transaction, per_day) in data["limits"].items():
        UsageLimit.objects.create(
            contract=contract, kind=kind, per_transaction=per_transaction, per_day=per_day
        )
    principal = Principal.objects.create(kind=Principal.Kind.CUSTOMER_USER)
    master = CustomerUser.objects.create(
        contract=contract,
        principal=principal,
        role=CustomerUser.Role.MASTER,
        name=data["master_name"],
        status=CustomerUser.Status.AWAITING_REGISTRATION,
    )
    action.contract = contract
    letter = _issue_initial_password(contract, master)
    audit.record(
        "contract.registered",
        actor=actor,
        contract_id=contract.pk,
        subject_user_id=master.pk,
        details={"contract_number": contract.number, "action_id": action.pk},
    )
    return letter


def _execute_initialize_master(action: PendingAction, actor: audit.Actor) -> InitialPasswordLetter:
    contract = _contract(action.contract_id)
    master = _master(contract)
    Secret.objects.filter(
        principal_id=master.principal_id,
        kind__in=[SecretKind.LOGIN_PASSWORD, SecretKind.CONFIRMATION_PASSWORD],
    ).delete()
    CustomerUser.objects.filter(pk=master.pk).update(
        login_id=None, status=CustomerUser.Status.AWAITING_REGISTRATION
    )
    lockout.lift(
        master.principal_id,
        actor=actor,
        subject_user_id=master.pk,
        contract_id=contract.pk,
        reason="master initialized on paper",
    )
    lockout.end_sessions(master.principal_id)
    letter = _issue_initial_password(contract, master)
    audit.record(
        "master.initialized",
        actor=actor,
        contract_id=contract.pk,
        subject_user_id=master.pk,
        details={"action_id": action.pk},
    )
    return letter


def _execute_lift_master_lock(action: PendingAction, actor: audit.Actor) -> None:
    contract = _contract(action.contract_id)
    master = _master(contract)
    lockout.lift(
        master.principal_id,
        actor=actor,
        subject_user_id=master.pk,
        contract_id=contract.pk,
        reason=f"paper procedure #{action.pk}",
    )


def _execute_emergency_stop(action: PendingAction, actor: audit.Actor) -> None:
    contract = _contract(action.contract_id)
    updated = Contract.objects.filter(pk=contract.pk, status=Contract.Status.ACTIVE).update(
        status=Contract.Status.EMERGENCY_STOPPED
    )
    if not updated:
        raise Conflict(_("この契約は利用中ではありません。"))
    for principal_id in CustomerUser.objects.filter(contract=contract).values_list("principal_id", flat=True):
        lockout.end_sessions(principal_id)
    audit.record(
        "contract.emergency_stopped",
        actor=actor,
        contract_id=contract.pk,
        details={"action_id": action.pk, "reason": action.payload.get("reason", "")},
    )


def _execute_lift_emergency_stop(action: PendingAction, actor: audit.Actor) -> None:
    contract = _contract(action.contract_id)
    updated = Contract.objects.filter(pk=contract.pk, status=Contract.Status.EMERGENCY_STOPPED).update(
        status=Contract.Status.ACTIVE
    )
    if not updated:
        raise Conflict(_("この契約は緊急停止中ではありません。"))
    audit.record(
        "contract.emergency_stop_lifted",
        actor=actor,
        contract_id=contract.pk,
        details={"action_id": action.pk},
    )


def _execute_change_pins(action: PendingAction, actor: audit.Actor) -> None:
    contract = _contract(action.contract_id)
    for kind, pin_hash in action.payload["pin_hashes"].items():
        store_pin(contract_id=contract.pk, kind=kind, pin_hash=pin_hash)
    audit.record(
        "contract.pins_changed",
        actor=actor,
        contract_id=contract.pk,
        details={"kinds": sorted(action.payload["pin_hashes"]), "action_id": action.pk},
    )


def _execute_start_otp(action: PendingAction, actor: audit.Actor) -> None:
    contract = _contract(action.contract_id)
    if not Contract.objects.filter(pk=contract.pk, otp_required=False).update(otp_required=True):
        raise Conflict(_("この契約は既にワンタイムパスワードを利用しています。"))
    audit.record(
        "contract.otp_started", actor=actor, contract_id=contract.pk, details={"action_id": action.pk}
    )


def _execute_lift_master_token_lock(action: PendingAction, actor: audit.Actor) -> None:

    contract = _contract(action.contract_id)
    master = _master(contract)
    registration = token_selectors.registration_in_force(master)
    if registration is None:
        raise Conflict(_("マスターユーザにはワンタイムパスワードが登録されていません。"))
    lockout.lift(
        registration.token.principal_id,
        actor=actor,
        subject_user_id=master.pk,
        contract_id=contract.pk,
        reason=f"paper procedure #{action.pk}",
    )


def _execute_start_software_tokens(action: PendingAction, actor: audit.Actor) -> None:

    softtokens.enable_for_contract(_contract(action.contract_id), actor=actor)


def _execute_enable_master_certificate(action: PendingAction, actor: audit.Actor) -> None:

    certificates.enable_issuance(_master(_contract(action.contract_id)), actor=actor)


def _execute_revoke_certificate(action: PendingAction, actor: audit.Actor) -> None:

    user = CustomerUser.objects.get(pk=action.payload["user_id"], contract=_contract(action.contract_id))
    certificate = certificates.active_certificate(user)
    if certificate is None:
        raise Conflict(_("この利用者には有効な電子証明書がありません。"))
    certificates.revoke(certificate, actor=actor, reason=f"paper procedure #{action.pk}")


def _execute_reset_master_questions(action: PendingAction, actor: audit.Actor) -> None:

    risk.reset(_master(_contract(action.contract_id)), actor=actor, reason=f"paper procedure #{action.pk}")


def _execute_end_software_token(action: PendingAction, actor: audit.Actor) -> None:

    softtokens.end(
        token_user_id=action.payload["token_user_id"],
        cancel=action.kind == "cancel_software_token",
        actor=actor,
    )


def _execute_ship_tokens(action: PendingAction, actor: audit.Actor) -> None:

    tokens.ship_to_contract(
        action.payload["serials"],
        _contract(action.contract_id),
        actor=actor,
        fee_reason=action.payload.get("fee_reason", ""),
    )


EXECUTORS: dict[str, Callable[[PendingAction, audit.Actor], InitialPasswordLetter | None]] = {
    "ship_tokens": _execute_ship_tokens,
    "start_otp": _execute_start_otp,
    "start_software_tokens": _execute_start_software_tokens,
    "reset_master_questions": _execute_reset_master_questions,
    "enable_master_certificate": _execute_enable_master_certificate,
    "revoke_certificate": _execute_revoke_certificate,
    "stop_software_token": _execute_end_software_token,
    "cancel_software_token": _execute_end_software_token,
    "lift_master_token_lock": _execute_lift_master_token_lock,
    "register_contract": _execute_register_contract,
    "initialize_master": _execute_initialize_master,
    "lift_master_lock": _execute_lift_master_lock,
    "emergency_stop": _execute_emergency_stop,
    "lift_emergency_stop": _execute_lift_emergency_stop,
    "change_pins": _execute_change_pins,
}
