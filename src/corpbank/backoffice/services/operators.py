"""The bank's operators: their accounts and roles, their login (password, then the one-time password of
their authenticator app), and the rule saying who enters and who decides the paper procedures (R-A1).

Roles (docs/operations.md, 職員の権限):

- 受付担当 (clerk) enters the paper procedures, reports lost tokens and stocks tokens;
- 承認者 (approver) does the same and approves or rejects what *another* operator entered;
- 管理者 (administrator) enters the operators' procedures (registering one, changing a role, lifting
  a lockout, resetting the password or the second factor, stopping one), which take effect only when
  *another* administrator, not the operator concerned, approves them (operator_procedures.py); an
  administrator neither enters nor decides customers' procedures.

Nobody chooses another person's password: an operator's initial password is generated when the
registration (or a password reset) is approved, shown once to the approving administrator, and must be
changed at the first login, before the second factor is enrolled or asked.

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
    Suspended,
    TokenSuspended,
    ValidationFailed,
)
from corpbank.identity import lockout
from corpbank.identity import selectors as identity_selectors
from corpbank.identity.credentials import character_rule_problem, check_new_credentials, store_secret
from corpbank.identity.hashing import verify_hash
from corpbank.identity.lockout import Evaluation
from corpbank.identity.models import Principal, Secret, SecretKind
from corpbank.tokens import seeds
from corpbank.tokens.otp import log_drift, match_step
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


def operator_identity_problems(login_name: str, display_name: str, role: str) -> dict[str, str]:
    """What is wrong with a new operator's login name, display name and role, field by field."""
    problems: dict[str, str] = {}
    if not login_name or len(login_name) > 30 or not text.is_half_width(login_name):
        problems["login_name"] = _("ログイン名は30文字以内の半角英数字記号で入力してください。")
    if not display_name or len(display_name) > 60:
        problems["display_name"] = _("氏名を60文字以内で入力してください。")
    if role not in Operator.Role.values:
        problems["role"] = _("権限を選択してください。")
    return problems


def login_name_taken() -> Conflict:
    return Conflict(
        _("このログイン名の職員は既に登録されています。"),
        fields={"login_name": _("このログイン名の職員は既に登録されています。")},
    )


def add_operator(
    *, login_name: str, display_name: str, role: str, password: str, must_change: bool, actor: audit.Actor
) -> Operator:
    """The operator's rows, in the caller's transaction: ``create_operator`` (the server's terminal) and
    the approval of a registration (a generated initial password, ``must_change``)."""
    if Operator.objects.filter(login_name=login_name).exists():
        raise login_name_taken()
    principal = Principal.objects.create(kind=Principal.Kind.OPERATOR)
    operator = Operator.objects.create(
        principal=principal, login_name=login_name, display_name=display_name, role=role
    )
    store_secret(
        principal_id=principal.pk, kind=SecretKind.LOGIN_PASSWORD, plain=password, must_change=must_change
    )
    audit.record("operator.created", actor=actor, details={"login_name": login_name, "role": role})
    return operator


def create_operator(
    *,
    login_name: str,
    display_name: str,
    password: str,
    role: str = Operator.Role.CLERK,
    command: str = "corpbank createoperator",
) -> Operator:
    """A new operator with the password typed on the server's terminal (``corpbank createoperator``:
    the bank's first administrator; ``corpbank loaddemo``'s demo operators). Whoever runs it holds the
    server, so the password is theirs, not an initial one. In the back office an operator is registered
    by an administrator and approved by another (operator_procedures.py). The operator registers an
    authenticator app at the first login, unless the command registered one."""
    login_name = text.half_width(login_name)
    display_name = display_name.strip()
    problems = operator_identity_problems(login_name, display_name, role)
    if problem := character_rule_problem(password):
        problems["password"] = problem
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    with transaction.atomic(durable=True):
        return add_operator(
            login_name=login_name,
            display_name=display_name,
            role=role,
            password=password,
            must_change=False,
            actor=audit.Actor.system(command),
        )


# ---------------------------------------------------------------------------------------------------
# The password


class PasswordChangeRequired(DomainError):
    """The password is an initial one (generated, seen by the administrator who approved it): the
    operator replaces it before the second factor is enrolled or asked."""

    code = "password_change_required"
    http_status = 403

    def __init__(self) -> None:
        super().__init__(_("初期パスワードのままです。新しいパスワードに変更してからログインしてください。"))


class CurrentPasswordRejected(InvalidCredentials):
    def __init__(self) -> None:
        DomainError.__init__(self, _("現在のパスワードに誤りがあります。"))


def password_is_initial(operator: Operator) -> bool:
    """Whether the operator's password was generated by the bank and not yet replaced by its holder."""
    return Secret.objects.filter(
        principal_id=operator.principal_id, kind=SecretKind.LOGIN_PASSWORD, must_change=True
    ).exists()


def _new_password_problems(operator: Operator, new_password: str, new_password_again: str) -> dict[str, str]:
    """The credential rules (identity/credentials.py), and not the login name."""
    if not new_password:
        return {"new_password": _("新しいパスワードを入力してください。")}
    try:
        check_new_credentials(
            login_id=None, login_password=new_password, login_password_again=new_password_again
        )
    except ValidationFailed as failure:
        return {"new_" + key.removeprefix("login_"): value for key, value in failure.fields.items()}
    if new_password == operator.login_name:
        return {"new_password": _("ログイン名と異なるパスワードを設定してください。")}
    return {}


def _store_new_password(operator: Operator, new_password: str, *, event: str, actor: audit.Actor) -> None:
    """In the caller's transaction, under the principal's lock: refuse the password it replaces, then
    store the new one (chosen by its holder: no change due at the next login)."""
    stored = Secret.objects.filter(principal_id=operator.principal_id, kind=SecretKind.LOGIN_PASSWORD).first()
    if stored is not None and verify_hash(stored.hash, new_password):
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={"new_password": _("現在のパスワードと異なるパスワードを設定してください。")},
        )
    store_secret(principal_id=operator.principal_id, kind=SecretKind.LOGIN_PASSWORD, plain=new_password)
    audit.record(event, actor=actor, details={"login_name": operator.login_name})


def change_initial_password(
    operator: Operator, *, new_password: str, new_password_again: str, ip_address: str = ""
) -> None:
    """The login's step after a right initial password (the screen's session remembers that step; the
    API asks the password again, :func:`check_password`): the operator chooses their own password, which
    differs from the initial one and from the login name, before the second factor."""
    if problems := _new_password_problems(operator, new_password, new_password_again):
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    with transaction.atomic(durable=True):
        identity_selectors.principal_for_update(operator.principal_id)
        if not Operator.objects.filter(pk=operator.pk, is_active=True).exists():
            raise InvalidCredentials()
        if not password_is_initial(operator):
            raise Conflict(_("初期パスワードは既に変更されています。"))
        _store_new_password(
            operator,
            new_password,
            event="operator.initial_password_changed",
            actor=operator_actor(operator, ip_address),
        )


def change_password(
    operator: Operator,
    *,
    current_password: str,
    new_password: str,
    new_password_again: str,
    ip_address: str = "",
) -> None:
    """パスワードの変更 by a signed-in operator: the current password through the lockout, then the new
    one (the credential rules, not the login name, not the current one), in one transaction."""
    if not current_password:
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={"current_password": _("現在のパスワードを入力してください。")},
        )
    if problems := _new_password_problems(operator, new_password, new_password_again):
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    actor = operator_actor(operator, ip_address)
    _verified(
        lambda: lockout.check_principal_secret(
            principal_id=operator.principal_id,
            kind=SecretKind.LOGIN_PASSWORD,
            candidate=current_password,
            actor=actor,
        ),
        lambda: _store_new_password(operator, new_password, event="operator.password_changed", actor=actor),
        CurrentPasswordRejected,
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
        if password_is_initial(operator):
            # Whoever saw the initial password's letter never enrols a key with it.
            raise PasswordChangeRequired()
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
    log_drift(f"operator {operator.login_name}", evaluation, step=step, current=current, was=totp.drift)
    return evaluation


def _verified(check: Any, act: Any, refused: Any) -> Operator:
    """lockout.verified, with an operator's suspension told as an operator's (an administrator lifts it)."""
    try:
        operator: Operator = lockout.verified(check, act, refused=refused)
    except (Suspended, TokenSuspended):
        raise OperatorSuspended() from None
    return operator


def check_password(*, login_name: str, password: str, ip_address: str = "") -> Operator:
    """The login's first step: the operator's login password, through the lockout. Starts no session.

    A name that names no active operator is counted by the rule of a real one, apart from customers'
    login IDs (R-C6): the same answers (401, then 423 until when, then 利用停止), the same Argon2id
    cost, and its attempts audited with the name tried (``operator.unknown_login_name…``)."""
    login_name = text.half_width(login_name)
    operator = (
        Operator.objects.filter(login_name=login_name, is_active=True).select_related("principal").first()
    )
    if operator is None:
        return _verified(
            lambda: lockout.check_unknown_login(
                login_id=login_name,
                candidate=password,
                actor=audit.Actor.anonymous(ip_address),
                realm=lockout.OPERATORS,
            ),
            lambda: None,  # never runs: an unknown name is always refused
            InvalidCredentials,
        )
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
    if password_is_initial(current):
        raise PasswordChangeRequired()
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
    if password_is_initial(operator):
        raise PasswordChangeRequired()
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
