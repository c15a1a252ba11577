"""The one table of what each operation requires (R-B3, R-B4, R-E2), and the one function that
enforces it for the web UI and the API alike.

Factors other than the session are secrets, each checked through the lockout mechanism against the
acting user. The OTP column arrives with the one-time-password issue; its operations are listed now.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable

from corpbank.models import CustomerUser, Secret, SecretKind
from corpbank.services import audit, lockout

PIN_KINDS = frozenset(
    {SecretKind.INQUIRY_PIN, SecretKind.TRANSFER_PIN, SecretKind.CONFIRMATION_PIN, SecretKind.APPROVAL_PIN}
)


class Operation(enum.StrEnum):
    INQUIRY = "inquiry"
    ADD_USER = "add_user"
    CHANGE_USER = "change_user"
    DELETE_USER = "delete_user"
    RESET_USER_CREDENTIALS = "reset_user_credentials"
    LIFT_USER_LOCK = "lift_user_lock"


@dataclasses.dataclass(frozen=True)
class Requirement:
    """Secrets an operation asks for beyond the session, in the order they are checked."""

    secrets: tuple[SecretKind, ...]
    master_only: bool = False


REQUIREMENTS: dict[Operation, Requirement] = {
    Operation.INQUIRY: Requirement((SecretKind.INQUIRY_PIN,)),
    # 利用者の追加・変更 (seed 000 Q2): the confirmation password now, the OTP with the OTP issue.
    Operation.ADD_USER: Requirement((SecretKind.CONFIRMATION_PASSWORD,), master_only=True),
    Operation.CHANGE_USER: Requirement((SecretKind.CONFIRMATION_PASSWORD,), master_only=True),
    Operation.DELETE_USER: Requirement((SecretKind.CONFIRMATION_PASSWORD,), master_only=True),
    Operation.RESET_USER_CREDENTIALS: Requirement((SecretKind.CONFIRMATION_PASSWORD,), master_only=True),
    Operation.LIFT_USER_LOCK: Requirement((SecretKind.CONFIRMATION_PASSWORD,), master_only=True),
}


def check_factors(
    operation: Operation, *, user: CustomerUser, supplied: dict[str, str], actor: audit.Actor
) -> lockout.Verdict:
    """Check every factor the table asks for the operation. Inside the act's transaction."""
    return check_secrets(REQUIREMENTS[operation].secrets, user=user, supplied=supplied, actor=actor)


def check_secrets(
    kinds: Iterable[str], *, user: CustomerUser, supplied: dict[str, str], actor: audit.Actor
) -> lockout.Verdict:
    """Check the user's secrets of these kinds, in order, through the lockout mechanism; stop at the
    first wrong one. Contract PINs are the contract's; failures count against the user who typed them."""
    for kind in kinds:
        if kind in PIN_KINDS:
            stored = Secret.objects.filter(contract_id=user.contract_id, kind=kind).first()
        else:
            stored = Secret.objects.filter(principal_id=user.principal_id, kind=kind).first()
        verdict = lockout.check_secret(
            principal_id=user.principal_id,
            kind=kind,
            candidate=supplied.get(kind, ""),
            stored=stored,
            actor=actor,
            subject_user_id=user.pk,
            contract_id=user.contract_id,
        )
        if not verdict.ok:
            return verdict
    return lockout.Verdict(ok=True)
