"""The bank's operators: their accounts, their login, and the rule that another active operator decides
what one of them entered (R-A1)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from corpbank.approvals.engine import DeciderRule
from corpbank.approvals.models import PendingAction
from corpbank.backoffice.models import Operator
from corpbank.core import audit
from corpbank.core.errors import Conflict, Forbidden, InvalidCredentials, ValidationFailed
from corpbank.identity import lockout
from corpbank.identity.credentials import character_rule_problem, store_secret
from corpbank.identity.hashing import verify_nothing
from corpbank.identity.models import Principal, SecretKind


def operator_actor(operator: Operator, ip_address: str = "") -> audit.Actor:
    return audit.Actor(type="operator", id=operator.pk, label=operator.login_name, ip_address=ip_address)


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


class AnotherActiveOperator(DeciderRule):
    """The paper procedures: an operator enters, another active operator approves or rejects (R-A1)."""

    audit_prefix = "backoffice"

    def actor(self, person: Any, ip_address: str) -> audit.Actor:
        return operator_actor(person, ip_address)

    def is_entrant(self, action: PendingAction, person: Any) -> bool:
        return isinstance(person, Operator) and action.entered_by_id == person.pk

    def may_decide(self, action: PendingAction, person: Any) -> bool:
        return isinstance(person, Operator) and person.is_active

    def own_entry_refused(self) -> Forbidden:
        return Forbidden(_("入力した職員とは別の職員が承認してください。"))


ANOTHER_ACTIVE_OPERATOR = AnotherActiveOperator()
