"""The one four-eyes engine (R-A1; built so that R-G3's maker-checker runs on it too).

A *procedure* is something one person enters and that takes effect only when a second person approves
it. Each procedure declares its kind (the ``PendingAction.kind`` it stores), the typed request it is
entered with, the check at entry (which returns the payload to keep, secrets already hashed), the
summary shown in the queue, the details (every field, labelled, and what it changes) shown to whoever
decides it, the effect at approval, and the rule saying who may decide it.

The engine does the rest, the same way for every procedure: :func:`enter`, :func:`approve`,
:func:`reject` and :func:`withdraw` (the entrant's 取消) each run in one transaction that writes its
audit event, and nobody decides their own
entry (the database refuses it too). Procedures are found by kind in a registry: the packages above
this one register theirs, so that this package never imports them."""

from __future__ import annotations

import abc
import dataclasses
import logging
from typing import Any, ClassVar, Generic, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from corpbank.approvals.models import PendingAction
from corpbank.core import audit, text
from corpbank.core.errors import Conflict, Forbidden, NotFound

RequestT = TypeVar("RequestT")
logger = logging.getLogger(__name__)


class DeciderRule(abc.ABC):
    """Who enters and who decides the procedures that follow this rule, and how they appear in the
    audit log. Today the bank's operators (another active operator decides, R-A1); with R-G3 the users
    of a contract (another user of the same contract with the approval permission decides).

    The persons are the model instances the rule knows (an Operator, a CustomerUser); the engine only
    passes them through and stores them in the rule's columns of ``PendingAction``."""

    # The audit events are "<audit_prefix>.entered", ".approved", ".rejected" and ".withdrawn".
    audit_prefix: ClassVar[str]
    # The PendingAction foreign keys that hold the entrant and the decider.
    entrant_field: ClassVar[str] = "entered_by"
    decider_field: ClassVar[str] = "decided_by"

    @abc.abstractmethod
    def actor(self, person: Any, ip_address: str) -> audit.Actor:
        """The person as the audit log names them."""

    @abc.abstractmethod
    def may_decide(self, action: PendingAction, person: Any) -> bool:
        """Whether the person may approve or reject the action, besides not being its entrant (which the
        engine checks for every rule)."""

    def may_enter(self, person: Any) -> bool:
        """Whether the person may enter procedures of this rule (the bank's clerks and approvers, not
        its administrators). By default anybody the rule knows. Asked again at approval of the entrant:
        an entry whose entrant was stopped, or lost the role, since is not approved."""
        return True

    def may_see(self, person: Any) -> bool:
        """Whether the person may read the entries of this rule at all (others are told there is none,
        as for a missing one). By default anybody the rule knows."""
        return True

    def entrant_id(self, action: PendingAction) -> int | None:
        value: int | None = getattr(action, f"{self.entrant_field}_id")
        return value

    def is_entrant(self, action: PendingAction, person: Any) -> bool:
        return self.entrant_id(action) == person.pk

    def own_entry_refused(self) -> Forbidden:
        return Forbidden()

    def entrant_no_longer_entitled(self) -> Conflict:
        return Conflict(
            _(
                "この手続を入力した職員は利用停止されたか権限が変更されたため、承認できません。却下してください。"
            )
        )

    def not_allowed(self) -> Forbidden:
        return Forbidden()

    def not_allowed_to_enter(self) -> Forbidden:
        return Forbidden()


@dataclasses.dataclass(frozen=True)
class Entry:
    """What an entry keeps in the queue: the contract it concerns (None when it creates one) and the
    payload its effect reads at approval. Never a secret in clear: hash it in the check."""

    contract: Any  # an organizations.models.Contract, a layer above: only stored here
    payload: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Detail:
    """One labelled row of an entry as the person who decides it reads it: what the entry asks for
    (``value``) and, for a change, what it is now (``before``). Never a secret, not even hashed."""

    name: str  # stable, for programs (the API): a payload key, or key.index for a list's items
    label: str  # in the reader's language
    value: str
    before: str | None = None


class Procedure(abc.ABC, Generic[RequestT]):
    """One procedure that takes a second person's approval. Subclasses declare ``kind`` and
    ``decider_rule`` and implement ``check``, ``summary`` and ``execute``."""

    kind: ClassVar[str]
    decider_rule: ClassVar[DeciderRule]
    # A procedure about the contract as a whole (解約, 緊急停止, 暗証番号の変更 …): a second entry of the
    # same kind while one awaits its approval is refused, rather than left to fail at approval.
    one_pending_per_contract: ClassVar[bool] = False

    @abc.abstractmethod
    def check(self, request: RequestT) -> Entry:
        """Refuse a bad entry (ValidationFailed, Conflict, NotFound, …); return what to keep."""

    @abc.abstractmethod
    def summary(self, request: RequestT, entry: Entry) -> str:
        """The line that shows the entry in the queue and in the audit log."""

    @abc.abstractmethod
    def execute(self, action: PendingAction, actor: audit.Actor) -> object:
        """The effect, in the approval's transaction: if it raises, nothing of the approval is kept.
        It may set ``action.contract`` (a registration creates the contract). It returns what the
        approver is shown once (a letter), or None."""

    def may_decide(self, action: PendingAction, person: Any) -> bool:
        """Who may decide is the procedure's rule; by default its decider rule's."""
        return self.decider_rule.may_decide(action, person)

    def admissible(self, contract: Any) -> None:
        """Refuse (Conflict) an entry, or the approval of an entry, on a contract that no longer takes
        this procedure (a terminated one). Called at entry and again, under the action's lock, at
        approval; a rejection is always possible."""

    def details(self, action: PendingAction) -> list[Detail]:
        """Every field of the entry in labelled rows, for the person who decides it, and for a change
        what it is now (read at the time of asking). By default none: the summary is all there is."""
        return []

    def lock_subject(self, payload: dict[str, Any]) -> None:
        """Lock what an entry is about, first thing in the entry's and the approval's transaction
        (before the action's own row), so that entries and approvals about one subject go one after
        the other and each one's checks see what the one before did. By default nothing."""

    def check_under_lock(self, entry: Entry) -> None:
        """Refuse (Conflict) an entry that, under the subject's lock, collides with another still
        pending (two procedures about one operator). By default nothing."""


_registry: dict[str, Procedure[Any]] = {}


def register(procedure: Procedure[RequestT]) -> Procedure[RequestT]:
    """Make the procedure's kind known to the engine, so that its entries can be decided."""
    registered = _registry.get(procedure.kind)
    if registered is not None and registered is not procedure:
        raise ValueError(f"a procedure of kind {procedure.kind!r} is already registered: {registered!r}")
    _registry[procedure.kind] = procedure
    return procedure


def unregister(kind: str) -> None:
    _registry.pop(kind, None)


def procedure_for(kind: str) -> Procedure[Any]:
    procedure = _registry.get(kind)
    if procedure is None:
        raise NotFound(_("不明な手続です。"))
    return procedure


def registered_kinds() -> frozenset[str]:
    return frozenset(_registry)


def enter(
    procedure: Procedure[RequestT], request: RequestT, *, entrant: Any, ip_address: str = ""
) -> PendingAction:
    """Check the request and put it in the queue, awaiting a second person's decision."""
    if _registry.get(procedure.kind) is not procedure:
        raise LookupError(f"procedure {procedure.kind!r} is not registered: its entries could not be decided")
    rule = procedure.decider_rule
    if not rule.may_enter(entrant):
        raise rule.not_allowed_to_enter()
    entry = procedure.check(request)
    procedure.admissible(entry.contract)
    # The queue's and the audit log's line is the bank's record: in the bank's language, whatever
    # language the entrant works in (two clerks must not read one queue in two languages).
    with translation.override(settings.LANGUAGE_CODE):
        summary = procedure.summary(request, entry)
    with transaction.atomic(durable=True):
        procedure.lock_subject(entry.payload)
        procedure.check_under_lock(entry)
        if procedure.one_pending_per_contract and entry.contract is not None:
            _refuse_a_second_entry(procedure, entry.contract)
        action = PendingAction.objects.create(
            kind=procedure.kind,
            contract=entry.contract,
            payload=entry.payload,
            summary=summary,
            **{rule.entrant_field: entrant},
        )
        audit.record(
            f"{rule.audit_prefix}.entered",
            actor=rule.actor(entrant, ip_address),
            contract_id=entry.contract.pk if entry.contract else None,
            details={"action_id": action.pk, "kind": procedure.kind, "summary": summary},
        )
    return action


def _refuse_a_second_entry(procedure: Procedure[Any], contract: Any) -> None:
    """Under the contract's row lock (two clerks entering at once queue here): one pending entry of the
    procedure per contract."""
    type(contract).objects.select_for_update(no_key=True).filter(pk=contract.pk).first()
    waiting = (
        PendingAction.objects.filter(
            kind=procedure.kind, contract=contract, status=PendingAction.Status.PENDING
        )
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is not None:
        raise Conflict(
            _(
                "この契約には承認待ちの同じ手続があります（受付番号 %(id)s）。"
                "その承認または却下をお待ちください。"
            )
            % {"id": waiting}
        )


@dataclasses.dataclass(frozen=True)
class Approved:
    action: PendingAction
    # What the procedure's effect returned for the approver (a letter shown once), or None.
    outcome: object = None


def _pending_for_decision(action_id: int, decider: Any) -> tuple[PendingAction, Procedure[Any]]:
    """The pending action, locked, and its procedure, once the decider may decide it (four-eyes)."""
    action = PendingAction.objects.select_for_update().filter(pk=action_id).first()
    if action is None or not procedure_for(action.kind).decider_rule.may_see(decider):
        raise NotFound()
    if action.status != PendingAction.Status.PENDING:
        raise Conflict(_("この手続は既に処理されています。"))
    procedure = procedure_for(action.kind)
    rule = procedure.decider_rule
    if rule.is_entrant(action, decider):
        raise rule.own_entry_refused()
    if not procedure.may_decide(action, decider):
        raise rule.not_allowed()
    return action, procedure


def approve(action_id: int, *, decider: Any, ip_address: str = "") -> Approved:
    """Carry out the action's effect and mark it approved, or, if the effect raises, neither. An effect
    that a unique constraint refuses (another approval took the same account, number or name since the
    entry, perhaps at the same moment) is a Conflict the decider can act on; any other refusal of the
    database (a ledger invariant) stays a server error."""
    try:
        return _approve(action_id, decider=decider, ip_address=ip_address)
    except IntegrityError as error:
        if not _unique_violation(error):
            raise  # another invariant (the ledger's, a foreign key): a server error, logged in full
        logger.warning("approval of action %s refused by a unique constraint: %s", action_id, error)
        raise Conflict(
            _(
                "この手続は、受付の後に承認された他の手続と重なるため承認できません。"
                "内容をご確認のうえ却下してください。"
            )
        ) from error


def _unique_violation(error: IntegrityError) -> bool:
    """A unique constraint's refusal: PostgreSQL's SQLSTATE 23505, SQLite's "UNIQUE constraint failed"."""
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(error)


def _approve(action_id: int, *, decider: Any, ip_address: str) -> Approved:
    with transaction.atomic(durable=True):
        # What the action is about (its payload never changes), locked before the action's row.
        entered = PendingAction.objects.filter(pk=action_id).values("kind", "payload").first()
        if entered is not None:
            procedure_for(entered["kind"]).lock_subject(entered["payload"])
        action, procedure = _pending_for_decision(action_id, decider)
        rule = procedure.decider_rule
        actor = rule.actor(decider, ip_address)
        if not rule.may_enter(getattr(action, rule.entrant_field)):
            raise rule.entrant_no_longer_entitled()
        procedure.admissible(action.contract)
        outcome = procedure.execute(action, actor)
        PendingAction.objects.filter(pk=action.pk).update(
            status=PendingAction.Status.APPROVED,
            decided_at=timezone.now(),
            contract=action.contract,
            **{rule.decider_field: decider},
        )
        audit.record(
            f"{rule.audit_prefix}.approved",
            actor=actor,
            contract_id=action.contract_id,
            details={"action_id": action.pk, "kind": action.kind, "entered_by": rule.entrant_id(action)},
        )
        action.refresh_from_db()
    return Approved(action=action, outcome=outcome)


def reject(action_id: int, *, decider: Any, ip_address: str = "", reason: str = "") -> PendingAction:
    """Mark the action rejected, with the decider's reason if given (却下の理由, shown on the entry and
    audited): it never takes effect."""
    reason = text.reason(reason)
    with transaction.atomic(durable=True):
        action, procedure = _pending_for_decision(action_id, decider)
        rule = procedure.decider_rule
        _close(action, rule, PendingAction.Status.REJECTED, rule.actor(decider, ip_address), decider, reason)
    return action


def _close(
    action: PendingAction,
    rule: DeciderRule,
    status: str,
    actor: audit.Actor,
    decider: Any = None,
    reason: str = "",
) -> None:
    """End a pending action without its effect (rejected by ``decider``, or withdrawn by its entrant,
    with no decider) and record it as ``<audit_prefix>.<status>``, in the caller's transaction."""
    deciding = {rule.decider_field: decider} if decider is not None else {}
    PendingAction.objects.filter(pk=action.pk).update(
        status=status, decided_at=timezone.now(), decision_reason=reason, **deciding
    )
    details: dict[str, Any] = {"action_id": action.pk, "kind": action.kind}
    if reason:
        details["reason"] = reason
    audit.record(
        f"{rule.audit_prefix}.{status}", actor=actor, contract_id=action.contract_id, details=details
    )
    action.refresh_from_db()


def withdraw(action_id: int, *, entrant: Any, ip_address: str = "") -> PendingAction:
    """取消: the entrant takes their own entry back before anybody decided it (entered by mistake, or
    one that nobody else may decide now, such as an administrator's entry about the only other
    administrator). It never takes effect, and whatever waited on it (one entry per subject) is free."""
    with transaction.atomic(durable=True):
        action = PendingAction.objects.select_for_update().filter(pk=action_id).first()
        if action is None or not procedure_for(action.kind).decider_rule.may_see(entrant):
            raise NotFound()
        rule = procedure_for(action.kind).decider_rule
        if not rule.is_entrant(action, entrant):
            raise Forbidden(_("手続を取り消せるのは、その手続を受付した職員だけです。"))
        if action.status != PendingAction.Status.PENDING:
            raise Conflict(_("この手続は既に処理されています。"))
        _close(action, rule, PendingAction.Status.WITHDRAWN, rule.actor(entrant, ip_address))
    return action
