"""What the paper procedures (書面手続) share: they are entered by one operator and decided by another
on the approval engine (R-A1), and the helpers their checks and effects use."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TypeVar

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.approvals import engine
from corpbank.approvals.models import PendingAction
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services.operator_procedures import OperatorLetter
from corpbank.backoffice.services.operators import ANOTHER_ACTIVE_OPERATOR
from corpbank.core import text
from corpbank.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from corpbank.core.policy import current_policy
from corpbank.identity.credentials import check_pin_format, generate_initial_password, store_secret
from corpbank.identity.hashing import hash_secret
from corpbank.identity.models import CONTRACT_PIN_KINDS, SecretKind
from corpbank.organizations.models import Contract, CustomerUser

RequestT = TypeVar("RequestT")


class PaperProcedure(engine.Procedure[RequestT]):
    """A procedure on the customer's paper form: another active operator decides it."""

    decider_rule = ANOTHER_ACTIVE_OPERATOR

    def admissible(self, contract: Contract | None) -> None:
        """Nothing more is entered or approved on a terminated contract (解約, R-F6). At approval the
        contract's row is locked (``FOR NO KEY UPDATE``), so that an approval and a termination go one
        after the other; not ``FOR UPDATE``, which would wait for a certificate's issuance or a master's
        registration holding the contract's status with the master's principal, while the approval
        then wants that principal (a lifted lockout): 緊急停止 and 解約 alone take ``FOR UPDATE``
        (stop_holding), and lock no principal."""
        if contract is None:
            return
        current = Contract.objects.filter(pk=contract.pk)
        if transaction.get_connection().in_atomic_block:
            current = current.select_for_update(no_key=True)
        if current.values_list("status", flat=True).first() == Contract.Status.TERMINATED:
            raise Conflict(_("この契約は解約済みです。"))


@dataclasses.dataclass(frozen=True)
class OnContract:
    """The request of a procedure that names only the contract."""

    contract_id: int


def enter(
    procedure: engine.Procedure[RequestT], operator: Operator, request: RequestT, *, ip_address: str = ""
) -> PendingAction:
    return engine.enter(procedure, request, entrant=operator, ip_address=ip_address)


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
    # An operator's initial password (職員の登録, パスワードの再発行), shown once to the approver.
    operator_letter: OperatorLetter | None = None


def approve(operator: Operator, action_id: int, *, ip_address: str = "") -> Decision:
    approved = engine.approve(action_id, decider=operator, ip_address=ip_address)
    outcome = approved.outcome
    return Decision(
        action=approved.action,
        letter=outcome if isinstance(outcome, InitialPasswordLetter) else None,
        operator_letter=outcome if isinstance(outcome, OperatorLetter) else None,
    )


def reject(operator: Operator, action_id: int, *, ip_address: str = "", reason: str = "") -> PendingAction:
    return engine.reject(action_id, decider=operator, ip_address=ip_address, reason=reason)


def withdraw(operator: Operator, action_id: int, *, ip_address: str = "") -> PendingAction:
    """取消 of the operator's own entry, before anybody decided it."""
    return engine.withdraw(action_id, entrant=operator, ip_address=ip_address)


def invalid(fields: dict[str, str]) -> ValidationFailed:
    return ValidationFailed(_("入力内容をご確認ください。"), fields=fields)


def hash_pins(pins: dict[str, str], *, all_required: bool) -> dict[str, str]:
    """Validate PINs and return them hashed, so the queue never holds one in clear."""
    problems: dict[str, str] = {}
    hashed: dict[str, str] = {}
    for kind in CONTRACT_PIN_KINDS:
        value = text.half_width(pins.get(kind, ""))  # full-width digits are the PIN
        if not value and not all_required:
            continue
        if problem := check_pin_format(value):
            problems[str(kind)] = problem
        else:
            hashed[str(kind)] = hash_secret(value)
    if problems:
        raise invalid(problems)
    if not hashed:
        raise invalid({"pins": _("変更する暗証番号を入力してください。")})
    return hashed


def stop_holding(contract: Contract) -> None:
    """緊急停止 and 解約, first: the contract's row locked ``FOR UPDATE``, which waits for every act
    holding its status (organizations.selectors.contract_status_held: a certificate being issued, a
    master registering) and makes them wait, unlike a transfer's lock. No user's row is locked after it."""
    Contract.objects.select_for_update().filter(pk=contract.pk).first()


def contract_of(contract_id: int | None) -> Contract:
    contract = (
        Contract.objects.select_related("organization").filter(pk=contract_id).first()
        if contract_id
        else None
    )
    if contract is None:
        raise NotFound(_("契約が見つかりません。"))
    return contract


def master_of(contract: Contract) -> CustomerUser:
    master = (
        CustomerUser.objects.filter(contract=contract, role=CustomerUser.Role.MASTER)
        .exclude(status=CustomerUser.Status.DELETED)
        .first()
    )
    if master is None:
        raise DomainError(_("マスターユーザが見つかりません。"))
    return master


def issue_initial_password(contract: Contract, master: CustomerUser) -> InitialPasswordLetter:
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
