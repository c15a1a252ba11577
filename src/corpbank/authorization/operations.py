"""The one table of what each operation requires (R-B3, R-B4, R-E2), and the one function that
enforces it for the web UI and the API alike.

Factors other than the session are secrets, each checked through the lockout mechanism against the
acting user, and the one-time password of the user's token. That last check belongs to the tokens
domain, which sits above this table (a master's token revocation is itself an operation of the
table): it is plugged in at start-up by ``corpbank.apps`` (:func:`use_one_time_password_check`), the
way Django plugs in its authentication backends, so that this package never imports tokens.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from django.utils.translation import gettext as _

from corpbank.core import audit, text
from corpbank.core.errors import FactorInputFailed, FactorsRejected, Forbidden, ValidationFailed
from corpbank.identity import lockout
from corpbank.identity.models import Secret, SecretKind


class ContractTerms(Protocol):
    """What the table reads of a contract (an organizations.models.Contract, a layer above)."""

    @property
    def otp_required(self) -> bool: ...


class Holder(Protocol):
    """What the checks read of the customer user who types the factors (an organizations.models.
    CustomerUser, a layer above): described here, so that this package imports nothing above it."""

    @property
    def pk(self) -> Any: ...
    @property
    def principal_id(self) -> int: ...
    @property
    def contract_id(self) -> int: ...
    @property
    def contract(self) -> ContractTerms: ...
    @property
    def is_master(self) -> bool: ...
    @property
    def login_id(self) -> str | None: ...


T = TypeVar("T")

PIN_KINDS = frozenset(
    {SecretKind.INQUIRY_PIN, SecretKind.TRANSFER_PIN, SecretKind.CONFIRMATION_PIN, SecretKind.APPROVAL_PIN}
)


class Operation(enum.StrEnum):
    INQUIRY = "inquiry"
    SINGLE_TRANSFER_REGISTERED_PAYEE = "single_transfer_registered_payee"
    SINGLE_TRANSFER_ADHOC = "single_transfer_adhoc"
    BULK_TRANSFER_APPROVAL = "bulk_transfer_approval"
    SALARY_TRANSFER_APPROVAL = "salary_transfer_approval"
    TAX_PAYMENT = "tax_payment"
    PAYEE_REGISTRATION = "payee_registration"
    ADD_USER = "add_user"
    CHANGE_USER = "change_user"
    DELETE_USER = "delete_user"
    RESET_USER_CREDENTIALS = "reset_user_credentials"
    LIFT_USER_LOCK = "lift_user_lock"
    TOKEN_REVOCATION = "token_revocation"  # noqa: S105 - names an operation
    LIFT_TOKEN_LOCK = "lift_token_lock"  # noqa: S105 - names an operation
    RESET_SECRET_QUESTIONS = "reset_secret_questions"  # noqa: S105 - names an operation
    CERTIFICATE_ISSUANCE = "certificate_issuance"
    CERTIFICATE_REVOCATION = "certificate_revocation"


@dataclasses.dataclass(frozen=True)
class Requirement:
    """What an operation asks for beyond the session: secrets in the order they are checked, then a
    one-time password from the user's token when the contract uses OTP."""

    secrets: tuple[SecretKind, ...]
    otp: bool = False
    master_only: bool = False


CONFIRMATION = SecretKind.CONFIRMATION_PASSWORD
REQUIREMENTS: dict[Operation, Requirement] = {
    # 照会: the inquiry PIN (seed 001 Q4).
    Operation.INQUIRY: Requirement((SecretKind.INQUIRY_PIN,)),
    # 振込振替: the transfer and confirmation PINs per transfer (seed 001 Q4); an ad-hoc payee (都度指定)
    # also the OTP (seed 000 Q2).
    Operation.SINGLE_TRANSFER_REGISTERED_PAYEE: Requirement(
        (SecretKind.TRANSFER_PIN, SecretKind.CONFIRMATION_PIN)
    ),
    Operation.SINGLE_TRANSFER_ADHOC: Requirement(
        (SecretKind.TRANSFER_PIN, SecretKind.CONFIRMATION_PIN), otp=True
    ),
    # 総合振込・給与（賞与）振込 approval: the confirmation password (seed 001 Q3), the approval PIN
    # (seed 001 Q4), the OTP (seed 000 Q2).
    Operation.BULK_TRANSFER_APPROVAL: Requirement((CONFIRMATION, SecretKind.APPROVAL_PIN), otp=True),
    Operation.SALARY_TRANSFER_APPROVAL: Requirement((CONFIRMATION, SecretKind.APPROVAL_PIN), otp=True),
    # 税金・各種料金の払込み (Pay-easy): the transfer PIN and the OTP.
    Operation.TAX_PAYMENT: Requirement((SecretKind.TRANSFER_PIN,), otp=True),
    # 振込先口座の登録・変更: registrations need the confirmation password (seed 001 Q3) and the OTP.
    Operation.PAYEE_REGISTRATION: Requirement((CONFIRMATION,), otp=True),
    # 利用者の追加・変更 (seed 000 Q2); deleting and resetting change registrations too (seed 001 Q3).
    Operation.ADD_USER: Requirement((CONFIRMATION,), otp=True, master_only=True),
    Operation.CHANGE_USER: Requirement((CONFIRMATION,), otp=True, master_only=True),
    Operation.DELETE_USER: Requirement((CONFIRMATION,), master_only=True),
    Operation.RESET_USER_CREDENTIALS: Requirement((CONFIRMATION,), master_only=True),
    Operation.LIFT_USER_LOCK: Requirement((CONFIRMATION,), master_only=True),
    # パスワード生成機の失効 (seed 000 Q2).
    Operation.TOKEN_REVOCATION: Requirement((CONFIRMATION,), otp=True, master_only=True),
    Operation.LIFT_TOKEN_LOCK: Requirement((CONFIRMATION,), master_only=True),
    # 追加認証のリセット of a general user (R-D3), like the reset of a general user's passwords.
    Operation.RESET_SECRET_QUESTIONS: Requirement((CONFIRMATION,), master_only=True),
    # 電子証明書: the master enables a general user's issuance and revokes certificates (R-F3, R-F4).
    Operation.CERTIFICATE_ISSUANCE: Requirement((CONFIRMATION,), master_only=True),
    Operation.CERTIFICATE_REVOCATION: Requirement((CONFIRMATION,), master_only=True),
}


def factors(operation: Operation, contract: ContractTerms) -> tuple[str, ...]:
    """The names of the factors the operation asks for on this contract, in the order they are
    checked: the row's secrets, then ``otp`` when the row asks for a one-time password and the contract
    uses OTP. The web forms show exactly these fields (web/pages.py ``factor_fields``)."""
    requirement = REQUIREMENTS[operation]
    one_time_password = (SecretKind.OTP,) if requirement.otp and contract.otp_required else ()
    return (*requirement.secrets, *one_time_password)


def check_factors(
    operation: Operation, *, user: Holder, supplied: dict[str, str], actor: audit.Actor
) -> lockout.Verdict:
    """Check every factor the table asks for the operation, secrets first, then the OTP if the
    contract uses OTP. One accepted OTP authorises this one operation: its time step is spent."""
    requirement = REQUIREMENTS[operation]
    asks_code = SecretKind.OTP in factors(operation, user.contract)
    # An empty field is a slip, told on its field and counted against nobody, before anything is checked
    # (so that it tells nothing of the other fields either).
    empty = {
        str(kind): _("%(label)sを入力してください。") % {"label": SecretKind(kind).label}
        for kind in requirement.secrets
        if not supplied.get(kind)
    }
    if empty:
        raise FactorInputFailed(_("入力内容をご確認ください。"), fields=empty)
    if asks_code:
        # The code's form first: a message that it is not six digits must come before any secret is
        # checked, or it would tell, uncounted, that the secrets before it were right.
        try:
            supplied = {**supplied, "otp": text.one_time_password(supplied.get("otp", ""))}
        except ValidationFailed as refused:
            raise FactorInputFailed(refused.message, fields=refused.fields) from None
    verdict = check_secrets(requirement.secrets, user=user, supplied=supplied, actor=actor)
    if not verdict.ok or not asks_code:
        return verdict
    if _one_time_password_check is None:
        raise RuntimeError("no one-time-password check is plugged in (corpbank.wiring does it at start-up)")
    return _one_time_password_check(user, supplied.get("otp", ""), actor)


# (the user, the code typed, who acts): tokens.otp.check_for_operation, which takes the organizations'
# CustomerUser itself.
OneTimePasswordCheck = Callable[[Any, str, audit.Actor], lockout.Verdict]
_one_time_password_check: OneTimePasswordCheck | None = None


def use_one_time_password_check(check: OneTimePasswordCheck) -> None:
    """Plug in the check of a user's one-time password for the operations whose row asks for one."""
    global _one_time_password_check  # set once, at start-up
    _one_time_password_check = check


def check_secrets(
    kinds: Iterable[str],
    *,
    user: Holder,
    supplied: dict[str, str],
    actor: audit.Actor,
    details: dict[str, object] | None = None,
) -> lockout.Verdict:
    """Check the user's secrets of these kinds, in order, through the lockout mechanism; stop at the
    first wrong one. Contract PINs are the contract's; failures count against the user who typed them.
    ``details`` go into the events (lockout.check_secret)."""
    for kind in kinds:
        if kind in PIN_KINDS:
            stored = Secret.objects.filter(contract_id=user.contract_id, kind=kind).first()
        else:
            stored = Secret.objects.filter(principal_id=user.principal_id, kind=kind).first()
        candidate = supplied.get(kind, "")
        verdict = lockout.check_secret(
            principal_id=user.principal_id,
            kind=kind,
            # A PIN typed in full-width digits is the PIN; a password is compared as typed (core/text.py).
            candidate=text.half_width(candidate) if kind in PIN_KINDS else candidate,
            stored=stored,
            actor=actor,
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details=details,
        )
        if not verdict.ok:
            return verdict
    return lockout.Verdict(ok=True)


def authorized(
    operation: Operation, master: Holder, factors: dict[str, str], ip_address: str, act: Callable[[], T]
) -> T:
    """A master's act on the users of the contract: ``act`` runs only if the factors the table asks
    for the operation are right, in one transaction with their check (R-B3, R-B4, R-E2)."""
    if not master.is_master:
        raise Forbidden()
    actor = audit.Actor.customer(master, ip_address)
    return lockout.verified(
        lambda: check_factors(operation, user=master, supplied=factors, actor=actor),
        act,
        refused=FactorsRejected,
        master=True,
    )
