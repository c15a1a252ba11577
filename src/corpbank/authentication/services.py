"""Customer authentication: the master's first registration, login, password changes (R-B1–R-B8)."""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.authentication import risk, selectors
from corpbank.authentication.models import SecretQuestion
from corpbank.authorization.operations import check_secrets
from corpbank.certificates import services as certificates
from corpbank.core import audit, text
from corpbank.core.errors import (
    AdditionalAuthExpired,
    CertificateRequired,
    ContractNotActive,
    DomainError,
    InvalidCredentials,
    ValidationFailed,
    WrongAnswer,
)
from corpbank.core.policy import current_policy
from corpbank.identity import lockout
from corpbank.identity.credentials import check_new_credentials, store_secret
from corpbank.identity.hashing import verify_nothing
from corpbank.identity.models import Principal, Secret, SecretKind
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations.models import Contract, CustomerUser
from corpbank.tokens import selectors as token_selectors
from corpbank.tokens import services as tokens

USER_SECRETS = (SecretKind.LOGIN_PASSWORD, SecretKind.CONFIRMATION_PASSWORD)


@dataclasses.dataclass(frozen=True)
class LoginOutcome:
    user: CustomerUser
    # Secrets the user must replace before doing anything else: somebody else chose them, or the
    # login password is past its lifetime (R-B6, R-B7).
    must_change: tuple[str, ...]
    password_change_due_at: datetime | None
    warn_expiry: bool
    # The principal's session epoch when the login succeeded: the session is bound to it.
    session_epoch: int = 0
    # R-E7: the OTP registration screen comes before anything else (after a forced password change).
    must_register_token: bool = False
    # R-D1: the user has no secret questions yet and registers them right after the passwords.
    must_register_questions: bool = False
    # R-D2: set instead of a session when the environment is not recognised: answer this first.
    challenge: risk.Challenge | None = None
    # The device ID the browser's environment cookie should carry (set when it was just recognised).
    device_id: str = ""


def contract_refusal(contract: Contract) -> DomainError | None:
    if contract.status == Contract.Status.EMERGENCY_STOPPED:
        return ContractNotActive(
            _("この契約は緊急停止中のため、ご利用いただけません。お取引店にご連絡ください。")
        )
    if contract.status == Contract.Status.TERMINATED:
        return ContractNotActive(_("この契約は解約済みのため、ご利用いただけません。"))
    return None


def pending_changes(
    user: CustomerUser, now: datetime | None = None, secrets: list[Secret] | None = None
) -> tuple[str, ...]:
    now = now or timezone.now()
    if secrets is None:
        secrets = list(Secret.objects.filter(principal_id=user.principal_id, kind__in=USER_SECRETS))
    due = [
        secret.kind
        for secret in secrets
        if secret.must_change or (secret.change_due_at is not None and secret.change_due_at <= now)
    ]
    return tuple(sorted(due, key=USER_SECRETS.index))


def log_in(
    *,
    login_id: str,
    password: str,
    ip_address: str = "",
    environment: risk.Environment = risk.UNKNOWN,
    certificate: bytes | None = None,
) -> LoginOutcome:
    """Login by login ID and login password. From an environment the bank does not recognise, the
    outcome carries a question to answer (``answer_challenge``) instead of opening a session (R-D2).

    ``certificate`` is the client certificate the TLS connection presented (DER). A presented one must
    be valid and then identifies the user; a contract of the certificate method logs in only with one
    (R-F1: the certificate authenticates the PC, the login password the person)."""
    if certificate is not None:
        login_id = certificates.verify(certificate).user.login_id or ""
    # Full-width as typed with the IME on is the half-width ID; what still is not (a kanji, an inner
    # space) is told as such, the same for every ID, counted against nobody (core/text.py).
    login_id = text.login_id(login_id)
    check = PasswordCheck(login_id, password, environment, ip_address)

    def act() -> LoginOutcome | DomainError:
        return _after_password(*check.user_found(), check.verdict, environment, certificate)

    result = lockout.verified(check, act, refused=InvalidCredentials, master=check.reads_as_master)
    if isinstance(result, DomainError):
        raise result
    return result


@dataclasses.dataclass
class PasswordCheck:
    """The login password of a login ID, checked as the login checks it, for ``lockout.verified``: the
    user's row and the principal's lock in one statement, then the lockout mechanism; a login ID that
    names nobody is counted by the same rules (R-C6), so that neither the answer nor its cost tells
    whether it exists. After the call, ``found`` is the user, the actor and what the lookup read."""

    login_id: str
    password: str
    environment: risk.Environment
    ip_address: str
    # For the audit event of an unknown login ID: what it was typed for, if not a login.
    purpose: str = ""
    found: tuple[CustomerUser, audit.Actor, selectors.LoginRows] | None = None
    verdict: lockout.Verdict = dataclasses.field(default_factory=lambda: lockout.Verdict(ok=False))

    def __call__(self) -> lockout.Verdict:
        # The user, both passwords (the one to check, and what must change), whether the user has
        # secret questions, and the principal's row lock: one statement, inside the transaction.
        rows = selectors.login_secrets(
            self.login_id, USER_SECRETS, device_id=self.environment.device_id, lock=True
        )
        principal = rows.secrets[0].principal if rows.secrets else None
        user = principal.customer_user if principal is not None else None
        if principal is None or user is None:
            return lockout.check_unknown_login(
                login_id=self.login_id,
                candidate=self.password,
                actor=audit.Actor.anonymous(self.ip_address),
                details={"purpose": self.purpose} if self.purpose else None,
            )
        self.found = (user, audit.Actor.customer(user, self.ip_address), rows)
        stored = next((s for s in rows.secrets if s.kind == SecretKind.LOGIN_PASSWORD), None)
        self.verdict = _check_before_login(
            user, self.found[1], SecretKind.LOGIN_PASSWORD, self.password, stored, principal
        )
        return self.verdict

    def user_found(self) -> tuple[CustomerUser, audit.Actor, selectors.LoginRows]:
        if self.found is None:  # pragma: no cover - the act runs only after the check found the user
            raise AssertionError("unreachable")
        return self.found

    def reads_as_master(self) -> bool:
        """Whether a suspension is told with the master's message: the user's role, or for an unknown
        login ID the role it poses as (lockout.reads_as_master)."""
        if self.found is not None:
            return self.found[0].is_master
        return lockout.reads_as_master(self.login_id)


def _after_password(
    user: CustomerUser,
    actor: audit.Actor,
    rows: selectors.LoginRows,
    verdict: lockout.Verdict,
    environment: risk.Environment,
    certificate: bytes | None,
) -> LoginOutcome | DomainError:
    """The login after a right password, in its transaction: the contract's state (only somebody who
    knows the password learns it), the certificate, the environment, then the session's outcome. Every
    way out records its event, and with it what the success owes the lockout counters."""
    writes = verdict.writes
    refusal = contract_refusal(user.contract)
    action = "login.refused_contract_not_active"
    if (
        refusal is None
        and user.contract.login_method == Contract.LoginMethod.CERTIFICATE
        and certificate is None
    ):
        refusal, action = CertificateRequired(), "login.refused_certificate_required"
    record = functools.partial(
        audit.record, actor=actor, subject_user_id=user.pk, contract_id=user.contract_id, writes=writes
    )
    if refusal is not None:
        record(action, details={"contract_status": user.contract.status})
        return refusal
    challenge = risk.challenge_for(user, environment, rows.known_environment) if rows.has_questions else None
    if challenge is not None:
        record(
            "login.additional_auth_required",
            details={"changed": list(challenge.reasons), "question": challenge.question},
        )
        return LoginOutcome(
            user=user, must_change=(), password_change_due_at=None, warn_expiry=False, challenge=challenge
        )
    outcome = _outcome(
        user,
        timezone.now(),
        rows.secrets,
        session_epoch=verdict.session_epoch or 0,
        registrations=rows.registrations,
    )
    record("login.succeeded", details={"must_change": list(outcome.must_change)})
    return dataclasses.replace(outcome, must_register_questions=not rows.has_questions)


def _check_before_login(
    user: CustomerUser,
    actor: audit.Actor,
    kind: str,
    candidate: str,
    stored: Secret | None,
    locked: Principal | None = None,
) -> lockout.Verdict:
    """One of the user's secrets on the way to a session; the act records the login itself."""
    return lockout.check_secret(
        principal_id=user.principal_id,
        kind=kind,
        candidate=candidate,
        stored=stored,
        actor=actor,
        subject_user_id=user.pk,
        contract_id=user.contract_id,
        record_success=False,
        locked=locked,
    )


def answer_challenge(
    *, user_id: int, position: int, answer: str, environment: risk.Environment, ip_address: str = ""
) -> LoginOutcome:
    """追加認証: the answer to the question a login from an unrecognised environment was given. A right
    answer opens the session and recognises the environment; wrong ones count like passwords."""
    user = (
        CustomerUser.objects.select_related("contract__organization")
        .filter(pk=user_id)
        .exclude(status=CustomerUser.Status.DELETED)
        .first()
    )
    question = (
        SecretQuestion.objects.select_related("answer").filter(user_id=user_id, position=position).first()
    )
    if user is None or question is None:
        verify_nothing(answer)
        raise AdditionalAuthExpired()
    if not risk.normalize_answer(answer):  # a slip, told on its field and counted against nobody
        raise ValidationFailed(
            _("入力内容をご確認ください。"), fields={"answer": _("回答を入力してください。")}
        )
    actor = audit.Actor.customer(user, ip_address)
    verdict = lockout.Verdict(ok=False)

    def check() -> lockout.Verdict:
        nonlocal verdict
        verdict = _check_before_login(
            user, actor, SecretKind.SECRET_ANSWER, risk.normalize_answer(answer), question.answer
        )
        return verdict

    def act() -> LoginOutcome | DomainError:
        refusal = contract_refusal(user.contract)
        if refusal is not None:
            return refusal
        now = timezone.now()
        secrets = list(Secret.objects.filter(principal_id=user.principal_id, kind__in=USER_SECRETS))
        outcome = _outcome(user, now, secrets, session_epoch=verdict.session_epoch or 0)
        device_id = risk.remember(user, environment, now)
        audit.record(
            "login.succeeded",
            actor=actor,
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details={"must_change": list(outcome.must_change), "additional_auth": True},
            writes=verdict.writes,
        )
        return dataclasses.replace(outcome, device_id=device_id)

    result = lockout.verified(check, act, refused=WrongAnswer, master=user.is_master)
    if isinstance(result, DomainError):
        raise result
    return result


def register_questions(
    *, user: CustomerUser, pairs: list[tuple[str, str]], environment: risk.Environment, ip_address: str = ""
) -> str:
    """追加認証の合言葉の登録 (R-D1); returns the device ID of the environment now recognised."""
    return risk.register_questions(user=user, pairs=pairs, environment=environment, ip_address=ip_address)


def _outcome(
    user: CustomerUser,
    now: datetime,
    secrets: list[Secret],
    *,
    session_epoch: int,
    registrations: token_selectors.RegistrationState | None = None,
) -> LoginOutcome:
    policy = current_policy()
    login_secret = next(s for s in secrets if s.kind == SecretKind.LOGIN_PASSWORD)
    due_at = login_secret.change_due_at
    warn = due_at is not None and now < due_at <= now + policy.password_expiry_warning
    return LoginOutcome(
        user=user,
        must_change=pending_changes(user, now, secrets),
        password_change_due_at=due_at,
        warn_expiry=warn,
        session_epoch=session_epoch,
        must_register_token=tokens.needs_registration(user, now, registrations),
    )


def register_master(
    *,
    contract_number: str,
    initial_password: str,
    login_id: str,
    login_password: str,
    login_password_again: str,
    confirmation_password: str,
    confirmation_password_again: str,
    ip_address: str = "",
) -> CustomerUser:
    """The master's first registration with the initial password of the bank's letter (R-B7)."""
    contract_number, login_id = text.half_width(contract_number), text.half_width(login_id)
    check_new_credentials(
        login_id=login_id,
        login_password=login_password,
        login_password_again=login_password_again,
        confirmation_password=confirmation_password,
        confirmation_password_again=confirmation_password_again,
    )
    master = (
        CustomerUser.objects.select_related("contract")
        .filter(
            contract__number=contract_number,
            # A terminated (解約, R-F6) or emergency-stopped contract's letter opens nothing: the same
            # answer as a wrong contract number.
            contract__status=Contract.Status.ACTIVE,
            role=CustomerUser.Role.MASTER,
            status=CustomerUser.Status.AWAITING_REGISTRATION,
        )
        .first()
    )
    refused = _refused_registration
    if master is None:
        verify_nothing(initial_password)
        raise refused()
    actor = audit.Actor(
        type="customer", id=master.pk, label=f"master of {contract_number}", ip_address=ip_address
    )

    def check() -> lockout.Verdict:
        return lockout.check_principal_secret(
            principal_id=master.principal_id,
            kind=SecretKind.INITIAL_PASSWORD,
            candidate=initial_password,
            actor=actor,
            subject_user_id=master.pk,
            contract_id=master.contract_id,
        )

    def act() -> CustomerUser:
        # Under a lock a 解約 approved meanwhile waits for; taken only once the initial password is
        # proved, so that no one who merely types a contract number holds up its contract.
        if organization_selectors.contract_status_held(master.contract_id) != Contract.Status.ACTIVE:
            raise refused()
        if CustomerUser.objects.filter(login_id=login_id).exists():
            raise ValidationFailed(
                _("入力内容をご確認ください。"), fields={"login_id": _("このログインIDは使用できません。")}
            )
        # Neither new password is the initial one they replace (R-B7): compared only now that the
        # initial password was verified against its stored hash, so this tells a guesser nothing.
        same = {
            field: _("初期パスワードと異なるパスワードを設定してください。")
            for field, new in (
                ("login_password", login_password),
                ("confirmation_password", confirmation_password),
            )
            if new == initial_password
        }
        if same:
            raise ValidationFailed(_("入力内容をご確認ください。"), fields=same)
        Secret.objects.filter(principal_id=master.principal_id, kind=SecretKind.INITIAL_PASSWORD).delete()
        store_secret(principal_id=master.principal_id, kind=SecretKind.LOGIN_PASSWORD, plain=login_password)
        store_secret(
            principal_id=master.principal_id,
            kind=SecretKind.CONFIRMATION_PASSWORD,
            plain=confirmation_password,
        )
        CustomerUser.objects.filter(pk=master.pk).update(login_id=login_id, status=CustomerUser.Status.ACTIVE)
        audit.record(
            "master.registered",
            actor=actor,
            subject_user_id=master.pk,
            contract_id=master.contract_id,
            details={"login_id": login_id},
        )
        master.refresh_from_db()
        return master

    return lockout.verified(check, act, refused=refused, master=True)


def _refused_registration() -> DomainError:
    return InvalidCredentialsForRegistration()


class InvalidCredentialsForRegistration(InvalidCredentials):
    def __init__(self) -> None:
        DomainError.__init__(
            self,
            _("契約番号または初期パスワードに誤りがあるか、初期パスワードの有効期限が切れています。"),
        )


def change_passwords(
    *,
    user: CustomerUser,
    current: dict[str, str],
    new_login_password: str | None,
    new_login_password_again: str | None,
    new_confirmation_password: str | None,
    new_confirmation_password_again: str | None,
    ip_address: str = "",
) -> None:
    """IDメンテナンス: change the login and/or confirmation password (R-B6). Secrets that must be
    changed (initial or expired) must be among those changed.

    Both current passwords are asked, whichever changes: the confirmation password is what changing a
    registration asks (R-B3), and a new password is compared with both stored ones (it must differ from
    the one it replaces, and the two from each other, R-B3), which would otherwise tell somebody who
    knows one of them whether a guess is the other, uncounted. So the comparisons come only after both
    current ones were proved through the lockout mechanism, in the same transaction."""
    changing = []
    if new_login_password:
        changing.append(SecretKind.LOGIN_PASSWORD)
    if new_confirmation_password:
        changing.append(SecretKind.CONFIRMATION_PASSWORD)
    missing = [kind for kind in pending_changes(user) if kind not in changing]
    if not changing or missing:
        fields = {
            ("new_" + kind): _("新しいパスワードを入力してください。")
            for kind in (missing or [SecretKind.LOGIN_PASSWORD])
        }
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=fields)
    absent = {
        "current_" + kind: _("現在のパスワードを入力してください。")
        for kind in USER_SECRETS
        if not current.get(kind)
    }
    if absent:  # told before anything is checked: an empty field is a slip, not a guess to count
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=absent)
    try:
        check_new_credentials(
            login_id=user.login_id,
            login_password=new_login_password or None,
            login_password_again=new_login_password_again,
            confirmation_password=new_confirmation_password or None,
            confirmation_password_again=new_confirmation_password_again,
        )
    except ValidationFailed as refused:
        # The rules name the passwords; here they are the new ones, as the form's and the API's fields.
        refused.fields = {f"new_{name}": message for name, message in refused.fields.items()}
        raise
    actor = audit.Actor.customer(user, ip_address)

    def check() -> lockout.Verdict:
        # Not a login: the login history names a wrong current password as what it is.
        return check_secrets(
            USER_SECRETS, user=user, supplied=current, actor=actor, details={"purpose": "password_change"}
        )

    def act() -> None:
        _check_against_current(current, new_login_password, new_confirmation_password)
        if new_login_password:
            store_secret(
                principal_id=user.principal_id, kind=SecretKind.LOGIN_PASSWORD, plain=new_login_password
            )
        if new_confirmation_password:
            store_secret(
                principal_id=user.principal_id,
                kind=SecretKind.CONFIRMATION_PASSWORD,
                plain=new_confirmation_password,
            )
        audit.record(
            "user.passwords_changed",
            actor=actor,
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details={"kinds": [str(k) for k in changing]},
        )

    lockout.verified(check, act, refused=PasswordsRejected, master=user.is_master)


class PasswordsRejected(InvalidCredentials):
    def __init__(self) -> None:
        DomainError.__init__(self, _("現在のパスワードに誤りがあります。"))


def _check_against_current(
    current: dict[str, str], new_login: str | None, new_confirmation: str | None
) -> None:
    """A new password differs from the one it replaces (an initial or expired password typed again
    would defeat the forced change, R-B6, R-B7), and the confirmation password from the login password
    (R-B3), also when only one of them changes. Called once ``current`` has been verified against the
    stored hashes in this transaction, so comparing with it is comparing with them."""
    login, confirmation = SecretKind.LOGIN_PASSWORD, SecretKind.CONFIRMATION_PASSWORD
    rules = (
        (
            "new_login_password",
            new_login,
            current[login],
            _("現在のパスワードと異なるパスワードを設定してください。"),
        ),
        (
            "new_confirmation_password",
            new_confirmation,
            current[confirmation],
            _("現在のパスワードと異なるパスワードを設定してください。"),
        ),
        (
            "new_login_password",
            new_login,
            None if new_confirmation else current[confirmation],
            _("確認用パスワードと異なるパスワードを設定してください。"),
        ),
        (
            "new_confirmation_password",
            new_confirmation,
            None if new_login else current[login],
            _("ログインパスワードと異なるパスワードを設定してください。"),
        ),
    )
    problems: dict[str, str] = {}
    for field, new, old, message in rules:
        if new and new == old and field not in problems:
            problems[field] = message
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)


def log_out(user: CustomerUser, *, ip_address: str = "", reason: str = "logout") -> None:
    with transaction.atomic(durable=True):
        audit.record(
            "logout",
            actor=audit.Actor.customer(user, ip_address),
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details={"reason": reason},
        )
