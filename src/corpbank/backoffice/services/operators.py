"""The bank's operators: their accounts and roles, their login (password, then the one-time password of
their authenticator app), and the rule saying who enters and who decides the paper procedures (R-A1).

Roles (docs/operations.md, 職員の権限):

- 受付担当 (clerk) enters the paper procedures, reports lost tokens and stocks tokens;
- 承認者 (approver) does the same and approves or rejects what *another* operator entered;
- 管理者 (administrator) creates operators, changes their roles, lifts their lockouts, resets their
  second factor and stops them; an administrator neither enters nor decides customers' procedures.

Both factors go through the one lockout mechanism with the operator as the principal: the login
password as ``login_password``, the app's code as ``otp`` (the policy's OTP rule: after N consecutive
wrong codes the operator is stopped until an administrator lifts it). A code is accepted once."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.approvals.engine import DeciderRule
from corpbank.approvals.models import PendingAction
from corpbank.backoffice.models import Operator, OperatorTotp
from corpbank.core import audit, text
from corpbank.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidCredentials,
    NotFound,
    Suspended,
    TokenSuspended,
    ValidationFailed,
)
from corpbank.identity import lockout
from corpbank.identity import selectors as identity_selectors
from corpbank.identity.credentials import character_rule_problem, store_secret
from corpbank.identity.hashing import verify_nothing
from corpbank.identity.lockout import Evaluation
from corpbank.identity.models import Principal, SecretKind
from corpbank.tokens import seeds
from corpbank.tokens.otp import match_step
from corpbank.tokens.softtokens import Provisioned

# What every authenticator app reads from a QR code (RFC 6238's defaults).
TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
TOTP_ALGORITHM = "sha1"
SEED_BYTES = 20


class OperatorSuspended(DomainError):
    """The operator was stopped (too many wrong codes, or lockouts): an administrator lifts it."""

    code = "suspended"
    http_status = 423

    def __init__(self) -> None:
        super().__init__(_("利用停止中です。管理者に利用停止の解除を依頼してください。"))


class SecondFactorRequired(DomainError):
    """The login needs the authenticator app's one-time password too."""

    code = "second_factor_required"
    http_status = 401

    def __init__(self) -> None:
        super().__init__(_("認証アプリに表示されたワンタイムパスワードを入力してください。"))


class SecondFactorEnrolmentRequired(DomainError):
    """The operator has no authenticator app registered yet: register one first."""

    code = "second_factor_enrolment_required"
    http_status = 403

    def __init__(self) -> None:
        super().__init__(
            _("認証アプリが登録されていません。初回ログイン時の画面で認証アプリを登録してください。")
        )


class WrongOneTimePassword(InvalidCredentials):
    def __init__(self) -> None:
        DomainError.__init__(self, _("ワンタイムパスワードに誤りがあります。"))


def operator_actor(operator: Operator, ip_address: str = "") -> audit.Actor:
    return audit.Actor(type="operator", id=operator.pk, label=operator.login_name, ip_address=ip_address)


# ---------------------------------------------------------------------------------------------------
# Roles


def require_entrant(operator: Operator) -> None:
    """受付: clerks and approvers enter procedures, report lost tokens and stock tokens."""
    if not operator.enters:
        raise Forbidden(_("この操作は受付担当または承認者の職員のみ行えます。"))


def require_approver(operator: Operator) -> None:
    if not operator.approves:
        raise Forbidden(_("承認・却下は承認者の職員のみ行えます。"))


def require_administrator(operator: Operator) -> None:
    if not operator.administers:
        raise Forbidden(_("職員の管理は管理者の職員のみ行えます。"))


class AnotherActiveOperator(DeciderRule):
    """The paper procedures: a clerk or an approver enters, another active operator with the approver
    role approves or rejects (R-A1)."""

    audit_prefix = "backoffice"

    def actor(self, person: Any, ip_address: str) -> audit.Actor:
        return operator_actor(person, ip_address)

    def may_enter(self, person: Any) -> bool:
        return isinstance(person, Operator) and person.enters

    def is_entrant(self, action: PendingAction, person: Any) -> bool:
        return isinstance(person, Operator) and action.entered_by_id == person.pk

    def may_decide(self, action: PendingAction, person: Any) -> bool:
        return isinstance(person, Operator) and person.approves

    def own_entry_refused(self) -> Forbidden:
        return Forbidden(_("入力した職員とは別の職員が承認してください。"))

    def not_allowed(self) -> Forbidden:
        return Forbidden(_("承認・却下は承認者の職員のみ行えます。"))

    def not_allowed_to_enter(self) -> Forbidden:
        return Forbidden(_("この操作は受付担当または承認者の職員のみ行えます。"))


ANOTHER_ACTIVE_OPERATOR = AnotherActiveOperator()


# ---------------------------------------------------------------------------------------------------
# Accounts


def _system_or(by: Operator | None, ip_address: str, command: str) -> audit.Actor:
    return operator_actor(by, ip_address) if by is not None else audit.Actor.system(command)


def create_operator(
    *,
    login_name: str,
    display_name: str,
    password: str,
    role: str = Operator.Role.CLERK,
    by: Operator | None = None,
    ip_address: str = "",
) -> Operator:
    """A new operator, by an administrator (``by``), or by ``corpbank createoperator`` on the server
    (``by`` None: the first administrator). The operator registers an authenticator app at the first
    login, unless the command registered one."""
    if by is not None:
        require_administrator(by)
    problems: dict[str, str] = {}
    login_name = text.half_width(login_name)
    if not login_name or len(login_name) > 30 or not text.is_half_width(login_name):
        problems["login_name"] = _("ログイン名は30文字以内の半角英数字記号で入力してください。")
    display_name = display_name.strip()
    if not display_name or len(display_name) > 60:
        problems["display_name"] = _("氏名を60文字以内で入力してください。")
    if role not in Operator.Role.values:
        problems["role"] = _("権限を選択してください。")
    if problem := character_rule_problem(password):
        problems["password"] = problem
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    with transaction.atomic(durable=True):
        if Operator.objects.filter(login_name=login_name).exists():
            raise Conflict(
                _("このログイン名の職員は既に登録されています。"),
                fields={"login_name": _("このログイン名の職員は既に登録されています。")},
            )
        principal = Principal.objects.create(kind=Principal.Kind.OPERATOR)
        operator = Operator.objects.create(
            principal=principal, login_name=login_name, display_name=display_name, role=role
        )
        store_secret(principal_id=principal.pk, kind=SecretKind.LOGIN_PASSWORD, plain=password)
        audit.record(
            "operator.created",
            actor=_system_or(by, ip_address, "corpbank createoperator"),
            details={"login_name": login_name, "role": role},
        )
    return operator


def _managed(admin: Operator, operator_id: int) -> Operator:
    require_administrator(admin)
    operator = Operator.objects.select_related("principal").filter(pk=operator_id).first()
    if operator is None:
        raise NotFound(_("職員が見つかりません。"))
    return operator


def _not_oneself(admin: Operator, operator: Operator) -> None:
    # So that the bank never loses its last administrator by a slip of the administrator's hand.
    if operator.pk == admin.pk:
        raise Conflict(_("ご自身の権限の変更や利用停止はできません。別の管理者が行ってください。"))


def change_role(admin: Operator, operator_id: int, role: str, *, ip_address: str = "") -> Operator:
    operator = _managed(admin, operator_id)
    _not_oneself(admin, operator)
    if role not in Operator.Role.values:
        raise ValidationFailed(
            _("入力内容をご確認ください。"), fields={"role": _("権限を選択してください。")}
        )
    with transaction.atomic(durable=True):
        Operator.objects.filter(pk=operator.pk).update(role=role)
        audit.record(
            "operator.role_changed",
            actor=operator_actor(admin, ip_address),
            details={"login_name": operator.login_name, "from": operator.role, "to": role},
        )
    operator.refresh_from_db()
    return operator


def deactivate_operator(admin: Operator, operator_id: int, *, ip_address: str = "") -> None:
    """利用停止 of an operator who left: no more logins, and every open session ends."""
    operator = _managed(admin, operator_id)
    _not_oneself(admin, operator)
    with transaction.atomic(durable=True):
        if not Operator.objects.filter(pk=operator.pk, is_active=True).update(is_active=False):
            raise Conflict(_("この職員は既に利用停止されています。"))
        lockout.end_sessions(operator.principal_id)
        audit.record(
            "operator.deactivated",
            actor=operator_actor(admin, ip_address),
            details={"login_name": operator.login_name},
        )


def lift_operator_lock(admin: Operator, operator_id: int, *, ip_address: str = "") -> None:
    """ロックアウト・利用停止の解除 of an operator (wrong passwords or wrong codes)."""
    operator = _managed(admin, operator_id)
    with transaction.atomic(durable=True):
        lockout.lift(
            operator.principal_id,
            actor=operator_actor(admin, ip_address),
            reason=f"operator {operator.login_name}",
        )


def reset_second_factor(admin: Operator, operator_id: int, *, ip_address: str = "") -> None:
    """認証アプリの再登録: a lost or replaced phone. The operator registers an app again at the next
    login (after the password); open sessions end."""
    operator = _managed(admin, operator_id)
    with transaction.atomic(durable=True):
        OperatorTotp.objects.filter(operator=operator).delete()
        lockout.end_sessions(operator.principal_id)
        audit.record(
            "operator.second_factor_reset",
            actor=operator_actor(admin, ip_address),
            details={"login_name": operator.login_name},
        )


# ---------------------------------------------------------------------------------------------------
# The second factor


def _bound_to(operator_id: int) -> str:
    """What a sealed seed is bound to (AES-GCM's associated data): it opens for this operator only."""
    return f"operator:{operator_id}"


def _provisioned(operator: Operator, seed: bytes) -> Provisioned:
    return Provisioned(
        secret_base32=base64.b32encode(seed).decode().rstrip("="),
        algorithm=TOTP_ALGORITHM,
        digits=TOTP_DIGITS,
        period=TOTP_STEP_SECONDS,
        issuer=f"{settings.CORPBANK_BANK_NAME} 事務センター",
        account=operator.login_name,
    )


def has_second_factor(operator: Operator) -> bool:
    return OperatorTotp.objects.filter(operator=operator, confirmed_at__isnull=False).exists()


def _keep_seed(operator: Operator, seed: bytes, *, confirmed: bool) -> None:
    key_id, sealed = seeds.seal(seed, serial=_bound_to(operator.pk))
    OperatorTotp.objects.filter(operator=operator).delete()
    OperatorTotp.objects.create(
        operator=operator,
        sealed_seed=sealed,
        seed_key_id=key_id,
        confirmed_at=timezone.now() if confirmed else None,
    )


def start_enrolment(operator: Operator, *, ip_address: str = "") -> Provisioned:
    """A new seed for an operator without an app registered, shown once (QR code and key): a seed
    shown before and not yet confirmed is replaced, so a page shown twice never shows one seed twice.
    The first accepted code confirms it (:func:`check_second_factor`)."""
    seed = secrets.token_bytes(SEED_BYTES)
    with transaction.atomic(durable=True):
        identity_selectors.principal_for_update(operator.principal_id)
        if has_second_factor(operator):
            raise Conflict(_("認証アプリは登録済みです。"))
        _keep_seed(operator, seed, confirmed=False)
        audit.record("operator.second_factor_offered", actor=operator_actor(operator, ip_address))
    return _provisioned(operator, seed)


def install_second_factor(operator: Operator, *, seed: bytes, actor: audit.Actor) -> Provisioned:
    """Register a seed at once, confirmed: ``corpbank createoperator`` shows it to the administrator it
    creates, on the server's terminal; the demo bank's operators share a published one."""
    with transaction.atomic(durable=True):
        _keep_seed(operator, seed, confirmed=True)
        audit.record(
            "operator.second_factor_installed", actor=actor, details={"login_name": operator.login_name}
        )
    return _provisioned(operator, seed)


def _evaluate_code(operator: Operator, code: str) -> Evaluation:
    """Under the operator principal's lock: the code against the operator's seed, accepted once."""
    totp = OperatorTotp.objects.filter(operator=operator).first()
    if totp is None:
        return Evaluation.MISMATCH
    seed = seeds.open_sealed(totp.seed_key_id, bytes(totp.sealed_seed), serial=_bound_to(operator.pk))
    evaluation, step, current = match_step(
        seed,
        code,
        step_seconds=TOTP_STEP_SECONDS,
        drift=totp.drift,
        last_step=totp.last_step,
        digits=TOTP_DIGITS,
        algorithm=TOTP_ALGORITHM,
    )
    if evaluation is Evaluation.MATCH:
        OperatorTotp.objects.filter(pk=totp.pk).update(
            last_step=step,
            drift=step - current,
            confirmed_at=totp.confirmed_at or timezone.now(),
        )
    return evaluation


def _verified(check: Any, act: Any, refused: Any) -> Operator:
    """lockout.verified, with an operator's suspension told as an operator's (an administrator lifts it)."""
    try:
        operator: Operator = lockout.verified(check, act, refused=refused)
    except (Suspended, TokenSuspended):
        raise OperatorSuspended() from None
    return operator


def check_password(*, login_name: str, password: str, ip_address: str = "") -> Operator:
    """The login's first step: the operator's login password, through the lockout. Starts no session."""
    operator = (
        Operator.objects.filter(login_name=text.half_width(login_name), is_active=True)
        .select_related("principal")
        .first()
    )
    if operator is None:
        verify_nothing(password)
        raise InvalidCredentials()
    actor = operator_actor(operator, ip_address)
    return _verified(
        lambda: lockout.check_principal_secret(
            principal_id=operator.principal_id,
            kind=SecretKind.LOGIN_PASSWORD,
            candidate=password,
            actor=actor,
        ),
        lambda: operator,
        InvalidCredentials,
    )


def check_second_factor(operator: Operator, code: str, *, ip_address: str = "") -> Operator:
    """The login's second step, after the password: a code of the operator's app (which confirms an
    app registered at this login), through the lockout. Records ``operator.login``."""
    code = text.one_time_password(code)
    current = Operator.objects.filter(pk=operator.pk, is_active=True).first()
    if current is None or not OperatorTotp.objects.filter(operator=current).exists():
        raise InvalidCredentials()
    actor = operator_actor(current, ip_address)

    def act() -> Operator:
        audit.record("operator.login", actor=actor)
        return current

    return _verified(
        lambda: lockout.check_attempt(
            principal_id=current.principal_id,
            kind=SecretKind.OTP,
            evaluate=lambda principal: _evaluate_code(current, code),
            actor=actor,
        ),
        act,
        WrongOneTimePassword,
    )


def operator_log_in(*, login_name: str, password: str, otp: str = "", ip_address: str = "") -> Operator:
    """Both steps at once (the API): the password, then the app's code (which confirms an app whose
    registration was started, :func:`start_enrolment`)."""
    operator = check_password(login_name=login_name, password=password, ip_address=ip_address)
    if not OperatorTotp.objects.filter(operator=operator).exists():
        raise SecondFactorEnrolmentRequired()
    if not otp.strip():
        raise SecondFactorRequired()
    return check_second_factor(operator, otp, ip_address=ip_address)


def rotate_seed_keys(*, actor: audit.Actor) -> int:
    """Re-seal every operator's seed under the current key (``corpbank tokens rotate-key``)."""
    ring = seeds.keyring()
    with transaction.atomic(durable=True):
        moved = 0
        for totp in OperatorTotp.objects.select_for_update().exclude(seed_key_id=ring.current_id):
            bound = _bound_to(totp.operator_id)
            seed = seeds.open_sealed(totp.seed_key_id, bytes(totp.sealed_seed), serial=bound)
            key_id, sealed = seeds.seal(seed, serial=bound)
            OperatorTotp.objects.filter(pk=totp.pk).update(seed_key_id=key_id, sealed_seed=sealed)
            moved += 1
        if moved:
            audit.record(
                "operators.seed_key_rotated", actor=actor, details={"operators": moved, "to": ring.current_id}
            )
    return moved
