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
registration (or a password reset) is approved, in two halves, one for each of the two administrators
(operator_procedures.py); it expires after the policy's INITIAL_PASSWORD_DAYS and must be changed at
the next login. The login's order (:func:`next_login_step`): with an authenticator app registered,
password → the app's code → the change of an initial or expired password → session, so that nobody
who knows the password alone can replace it; without one (a new operator, or after a second-factor
reset), password → its change when due → the app's registration → session.

Both factors go through the one lockout mechanism with the operator as the principal: the login
password as ``login_password``, the app's code as ``otp`` (the policy's OTP rule: after N consecutive
wrong codes the operator is stopped until an administrator lifts it). A code is accepted once."""

from __future__ import annotations

import base64
import enum
import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.approvals.engine import DeciderRule
from corpbank.approvals.models import PendingAction
from corpbank.backoffice.models import Operator, OperatorPasswordHalf, OperatorTotp
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
from corpbank.core.policy import current_policy
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


class OperatorCredentialsRejected(InvalidCredentials):
    """The back office's login refused: operators sign in with a ログイン名, not a login ID; never
    says which was wrong, nor whether the name exists (R-C6)."""

    def __init__(self) -> None:
        DomainError.__init__(self, _("ログイン名またはパスワードに誤りがあります。"))


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


def login_name_of(typed: str) -> str:
    """A login name as stored and compared: its full-width forms half-width, trimmed, lower-cased.
    ``Admin1``, ``ＡＤＭＩＮ１`` and ``admin1`` are one name: registered once, and each logs in as it."""
    return text.half_width(typed).lower()


def operator_identity_problems(login_name: str, display_name: str, role: str) -> dict[str, str]:
    """What is wrong with a new operator's login name, display name and role, field by field."""
    problems: dict[str, str] = {}
    if not login_name or len(login_name) > 30 or not text.is_half_width(login_name):
        problems["login_name"] = _("ログイン名は30文字以内の半角英数字記号で入力してください。")
    if problem := text.name_problem(display_name, label=_("氏名"), max_length=60):
        problems["display_name"] = problem
    if role not in Operator.Role.values:
        problems["role"] = _("権限を選択してください。")
    return problems


def login_name_taken() -> Conflict:
    return Conflict(
        _("このログイン名の職員は既に登録されています。"),
        fields={"login_name": _("このログイン名の職員は既に登録されています。")},
    )


def store_initial_password(operator: Operator, plain: str) -> None:
    """An initial password (generated, its halves seen by two administrators), in the caller's
    transaction: changed at the next login, and refused like a wrong one after the policy's
    INITIAL_PASSWORD_DAYS, as a customer's initial password is (R-B7)."""
    store_secret(
        principal_id=operator.principal_id,
        kind=SecretKind.LOGIN_PASSWORD,
        plain=plain,
        must_change=True,
        expires_at=timezone.now() + current_policy().initial_password_validity,
    )


def add_operator(
    *, login_name: str, display_name: str, role: str, password: str, must_change: bool, actor: audit.Actor
) -> Operator:
    """The operator's rows, in the caller's transaction: ``create_operator`` (the server's terminal) and
    the approval of a registration (a generated initial password, ``must_change``). A name registered
    meanwhile by another transaction is refused as one registered before (409), never a 500."""
    if Operator.objects.filter(login_name=login_name).exists():
        raise login_name_taken()
    principal = Principal.objects.create(kind=Principal.Kind.OPERATOR)
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives the refusal
            operator = Operator.objects.create(
                principal=principal, login_name=login_name, display_name=display_name, role=role
            )
    except IntegrityError as error:
        raise login_name_taken() from error
    if must_change:
        store_initial_password(operator, password)
    else:
        store_secret(principal_id=principal.pk, kind=SecretKind.LOGIN_PASSWORD, plain=password)
    audit.record("operator.created", actor=actor, details={"login_name": login_name, "role": role})
    return operator


def create_operator(
    *,
    login_name: str,
    display_name: str,
    password: str,
    role: str = Operator.Role.CLERK,
    command: str = "corpbank createoperator",
    second_factor_seed: bytes | None = None,
) -> Operator:
    """A new operator with the password typed on the server's terminal (``corpbank createoperator``:
    the bank's first administrator; ``corpbank loaddemo``'s demo operators). Whoever runs it holds the
    server, so the password is theirs, not an initial one. In the back office an operator is registered
    by an administrator and approved by another (operator_procedures.py). The operator registers an
    authenticator app at the first login, unless ``second_factor_seed`` registers one now, in the same
    transaction (the command prints it: :func:`provisioning`)."""
    login_name = login_name_of(login_name)
    display_name = display_name.strip()
    problems = operator_identity_problems(login_name, display_name, role)
    if problem := character_rule_problem(password):
        problems["password"] = problem
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    actor = audit.Actor.system(command)
    with transaction.atomic(durable=True):
        operator = add_operator(
            login_name=login_name,
            display_name=display_name,
            role=role,
            password=password,
            must_change=False,
            actor=actor,
        )
        if second_factor_seed is not None:
            _install(operator, second_factor_seed, actor=actor)
        return operator


# ---------------------------------------------------------------------------------------------------
# The password


class PasswordChangeRequired(DomainError):
    """The password is an initial one (generated, its halves seen by two administrators) or its
    lifetime has passed: the operator replaces it in the login, after the app's code when an app is
    registered, before the app's registration when none is."""

    code = "password_change_required"
    http_status = 403

    def __init__(self) -> None:
        super().__init__(
            _(
                "初期パスワードのまま、または有効期限が過ぎたパスワードです。"
                "新しいパスワードに変更してからログインしてください。"
            )
        )


class CurrentPasswordRejected(InvalidCredentials):
    def __init__(self) -> None:
        DomainError.__init__(self, _("現在のパスワードに誤りがあります。"))


def password_is_initial(operator: Operator) -> bool:
    """Whether the operator's password was generated by the bank and not yet replaced by its holder."""
    return Secret.objects.filter(
        principal_id=operator.principal_id, kind=SecretKind.LOGIN_PASSWORD, must_change=True
    ).exists()


def password_change_due(operator: Operator, now: datetime | None = None) -> bool:
    """Whether the login must replace the operator's password: an initial one, or one past the
    policy's PASSWORD_LIFETIME_DAYS (R-B6)."""
    stored = (
        Secret.objects.filter(principal_id=operator.principal_id, kind=SecretKind.LOGIN_PASSWORD)
        .values("must_change", "change_due_at")
        .first()
    )
    if stored is None:
        return False
    due_at = stored["change_due_at"]
    return bool(stored["must_change"]) or (due_at is not None and due_at <= (now or timezone.now()))


class LoginStep(enum.Enum):
    """What the back office's login asks next, after a right password."""

    CODE = "code"  # the registered app's one-time password
    CHANGE_PASSWORD = "change_password"  # noqa: S105 - a step: an initial or expired password replaced
    ENROL = "enrol"  # an app registered (its first code confirms it)
    DONE = "done"  # the session starts


def next_login_step(operator: Operator, *, code_accepted: bool) -> LoginStep:
    """The one order of the login, for the screens and the API. With an app registered the code comes
    before anything else: whoever knows the password alone (a letter's halves put together, a password
    seen over a shoulder) can neither replace it nor go further. Without one, the password is replaced
    first, so that the app is registered with the operator's own password, never an initial one."""
    if has_second_factor(operator):
        if not code_accepted:
            return LoginStep.CODE
        return LoginStep.CHANGE_PASSWORD if password_change_due(operator) else LoginStep.DONE
    if password_change_due(operator):
        return LoginStep.CHANGE_PASSWORD
    return LoginStep.DONE if code_accepted else LoginStep.ENROL


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


def change_password_at_login(
    operator: Operator,
    *,
    code_accepted: bool,
    new_password: str,
    new_password_again: str,
    ip_address: str = "",
    signs_in: bool = False,
) -> None:
    """The login's step that replaces an initial or expired password (:func:`next_login_step`): after a
    right password and, for an operator with an app registered, a right code of it (``code_accepted``:
    the screen's half-done login remembers it, the API checks it in the same request,
    :func:`change_password_before_login`). The new password differs from the one it replaces and from
    the login name. ``signs_in``: this change ends a login whose session starts now (``operator.login``
    in the same transaction)."""
    if problems := _new_password_problems(operator, new_password, new_password_again):
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    with transaction.atomic(durable=True):
        identity_selectors.principal_for_update(operator.principal_id)
        if not Operator.objects.filter(pk=operator.pk, is_active=True).exists():
            raise OperatorCredentialsRejected()
        if not password_change_due(operator):
            raise Conflict(_("パスワードは既に変更されています。"))
        if has_second_factor(operator) and not code_accepted:
            raise SecondFactorRequired()
        actor = operator_actor(operator, ip_address)
        initial = password_is_initial(operator)
        _store_new_password(
            operator,
            new_password,
            event="operator.initial_password_changed" if initial else "operator.expired_password_changed",
            actor=actor,
        )
        if signs_in:
            audit.record("operator.login", actor=actor)


def change_password_before_login(
    *,
    login_name: str,
    password: str,
    otp: str,
    new_password: str,
    new_password_again: str,
    ip_address: str = "",
) -> None:
    """The API's change of an initial or expired password, in one request: the password, then (an app
    registered) the app's code, each through the lockout, then the new password. Starts no session."""
    operator = check_password(login_name=login_name, password=password, ip_address=ip_address)
    if not password_change_due(operator):
        raise Conflict(_("パスワードは既に変更されています。"))
    code_accepted = False
    if has_second_factor(operator):
        if not otp.strip():
            raise SecondFactorRequired()
        check_second_factor(operator, otp, ip_address=ip_address)
        code_accepted = True
    change_password_at_login(
        operator,
        code_accepted=code_accepted,
        new_password=new_password,
        new_password_again=new_password_again,
        ip_address=ip_address,
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


def provisioning(operator: Operator, seed: bytes) -> Provisioned:
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
        if password_change_due(operator):
            # Whoever knew an initial password (its two halves) never enrols a key with it.
            raise PasswordChangeRequired()
        _keep_seed(operator, seed, confirmed=False)
        audit.record("operator.second_factor_offered", actor=operator_actor(operator, ip_address))
    return provisioning(operator, seed)


def _install(operator: Operator, seed: bytes, *, actor: audit.Actor) -> None:
    _keep_seed(operator, seed, confirmed=True)
    audit.record("operator.second_factor_installed", actor=actor, details={"login_name": operator.login_name})


def install_second_factor(operator: Operator, *, seed: bytes, actor: audit.Actor) -> Provisioned:
    """Register a seed at once, confirmed, for an existing operator (the tests' operators; a new one
    takes it from :func:`create_operator` in its own transaction)."""
    with transaction.atomic(durable=True):
        _install(operator, seed, actor=actor)
    return provisioning(operator, seed)


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
    cost, and its attempts audited with the name tried (``operator.unknown_login_name…``). The name is
    compared in any case (:func:`login_name_of`)."""
    login_name = login_name_of(login_name)
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
            OperatorCredentialsRejected,
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
        OperatorCredentialsRejected,
    )


def check_second_factor(operator: Operator, code: str, *, ip_address: str = "") -> Operator:
    """The login's step after the password: a code of the operator's app (which confirms an app whose
    registration was started at this login), through the lockout. With an app registered it comes
    before anything else, a due password change included; an app being registered waits for the
    operator's own password. Records ``operator.login`` when the login is then done
    (:func:`next_login_step`); else the password change records it."""
    code = text.one_time_password(code)
    current = Operator.objects.filter(pk=operator.pk, is_active=True).first()
    if current is None or not OperatorTotp.objects.filter(operator=current).exists():
        raise OperatorCredentialsRejected()
    if not has_second_factor(current) and password_change_due(current):
        raise PasswordChangeRequired()
    actor = operator_actor(current, ip_address)

    def act() -> Operator:
        if not password_change_due(current):
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
    """The steps at once (the API), in :func:`next_login_step`'s order: the password, then the app's
    code (which confirms an app whose registration was started, :func:`start_enrolment`). A password
    to change is said after the code when an app is registered (then change it with
    :func:`change_password_before_login`, with another code), before it when none is."""
    operator = check_password(login_name=login_name, password=password, ip_address=ip_address)
    step = next_login_step(operator, code_accepted=False)
    if step is LoginStep.CHANGE_PASSWORD:
        raise PasswordChangeRequired()
    if step is LoginStep.ENROL and not OperatorTotp.objects.filter(operator=operator).exists():
        raise SecondFactorEnrolmentRequired()
    if not otp.strip():
        raise SecondFactorRequired()
    check_second_factor(operator, otp, ip_address=ip_address)
    if next_login_step(operator, code_accepted=True) is LoginStep.CHANGE_PASSWORD:
        raise PasswordChangeRequired()
    return operator


def half_bound_to(action_id: int) -> str:
    """What a sealed half of an initial password is bound to: the procedure that issued it."""
    return f"operator-password-half:{action_id}"


def rotate_seed_keys(*, actor: audit.Actor) -> int:
    """Re-seal every operator's seed, and every initial password's half not yet shown, under the
    current key (``corpbank tokens rotate-key``). Returns how many operators' seeds."""
    ring = seeds.keyring()
    with transaction.atomic(durable=True):
        moved = 0
        for totp in OperatorTotp.objects.select_for_update().exclude(seed_key_id=ring.current_id):
            bound = _bound_to(totp.operator_id)
            seed = seeds.open_sealed(totp.seed_key_id, bytes(totp.sealed_seed), serial=bound)
            key_id, sealed = seeds.seal(seed, serial=bound)
            OperatorTotp.objects.filter(pk=totp.pk).update(seed_key_id=key_id, sealed_seed=sealed)
            moved += 1
        for half in OperatorPasswordHalf.objects.select_for_update().exclude(seed_key_id=ring.current_id):
            bound = half_bound_to(half.action_id)
            plain = seeds.open_sealed(half.seed_key_id, bytes(half.sealed_half), serial=bound)
            key_id, sealed = seeds.seal(plain, serial=bound)
            OperatorPasswordHalf.objects.filter(pk=half.pk).update(seed_key_id=key_id, sealed_half=sealed)
        if moved:
            audit.record(
                "operators.seed_key_rotated", actor=actor, details={"operators": moved, "to": ring.current_id}
            )
    return moved
