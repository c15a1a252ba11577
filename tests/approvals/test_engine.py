"""The approval engine: one four-eyes path for every procedure (R-A1), its decider rule a rule of the
procedure (as R-G3's approval by another user of the contract will be)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from corpbank.approvals import engine
from corpbank.approvals.models import PendingAction
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services.paper import PaperProcedure
from corpbank.core import audit
from corpbank.core.errors import Conflict, Forbidden, NotFound
from corpbank.core.models import AuditEvent
from corpbank.organizations.models import Contract, Organization
from tests.conftest import OPERATOR_PASSWORD, application

PAPER_PROCEDURE_KINDS = {
    "register_contract",
    "initialize_master",
    "lift_master_lock",
    "emergency_stop",
    "lift_emergency_stop",
    "change_pins",
    "ship_tokens",
    "start_otp",
    "lift_master_token_lock",
    "start_software_tokens",
    "reset_master_questions",
    "enable_master_certificate",
    "revoke_certificate",
    "stop_software_token",
    "cancel_software_token",
}


@dataclasses.dataclass(frozen=True)
class Note:
    text: str


class WriteNote(PaperProcedure[Note]):
    """A procedure of the tests: at approval it creates an organization named by the note, then fails if
    the note says so."""

    kind = "test_write_note"

    def check(self, request: Note) -> engine.Entry:
        return engine.Entry(contract=None, payload={"text": request.text})

    def summary(self, request: Note, entry: engine.Entry) -> str:
        return f"note: {request.text}"

    def execute(self, action: PendingAction, actor: audit.Actor) -> object:
        Organization.objects.create(name=action.payload["text"], name_kana="ﾃｽﾄ")
        audit.record("test.note_written", actor=actor, details={"action_id": action.pk})
        if action.payload["text"] == "fail":
            raise Conflict("the effect failed half-way")
        return f"written: {action.payload['text']}"


class OnlyTheSupervisorDecides(engine.DeciderRule):
    """A decider rule other than the back office's: only the operator named here decides."""

    audit_prefix = "test"

    def __init__(self, supervisor_login_name: str) -> None:
        self.supervisor_login_name = supervisor_login_name

    def actor(self, person: Any, ip_address: str) -> audit.Actor:
        return backoffice.operator_actor(person, ip_address)

    def may_decide(self, action: PendingAction, person: Any) -> bool:
        return isinstance(person, Operator) and person.login_name == self.supervisor_login_name


class SupervisedNote(WriteNote):
    kind = "test_supervised_note"
    decider_rule = OnlyTheSupervisorDecides("clerk3")


@pytest.fixture
def write_note() -> Iterator[engine.Procedure[Note]]:
    procedure = engine.register(WriteNote())
    yield procedure
    engine.unregister(procedure.kind)


@pytest.fixture
def supervised_note() -> Iterator[engine.Procedure[Note]]:
    procedure = engine.register(SupervisedNote())
    yield procedure
    engine.unregister(procedure.kind)


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_r_a1_the_back_office_registers_each_paper_procedure_by_its_kind():
    assert engine.registered_kinds() >= PAPER_PROCEDURE_KINDS
    for kind in PAPER_PROCEDURE_KINDS:
        procedure = engine.procedure_for(kind)
        assert procedure.kind == kind
        assert procedure.decider_rule.audit_prefix == "backoffice"


def test_a_kind_is_registered_once(write_note):
    assert engine.register(write_note) is write_note  # registering the same procedure again is harmless
    with pytest.raises(ValueError, match="test_write_note"):
        engine.register(WriteNote())


def test_a_procedure_that_is_not_registered_cannot_be_entered(operators):
    with pytest.raises(LookupError):
        engine.enter(WriteNote(), Note("orphan"), entrant=operators[0])
    assert not PendingAction.objects.exists()


def test_r_a1_entering_and_approving_write_their_audit_events(operators, write_note):
    action = engine.enter(write_note, Note("hello"), entrant=operators[0], ip_address="192.0.2.1")
    assert (action.kind, action.status, action.summary) == ("test_write_note", "pending", "note: hello")
    assert not Organization.objects.exists()
    [entered] = _events("backoffice.entered")
    assert (entered.actor_id, entered.ip_address) == (operators[0].pk, "192.0.2.1")
    assert entered.details == {"action_id": action.pk, "kind": "test_write_note", "summary": "note: hello"}

    approved = engine.approve(action.pk, decider=operators[1])
    assert approved.outcome == "written: hello"
    assert approved.action.status == PendingAction.Status.APPROVED
    assert approved.action.decided_by == operators[1]
    assert Organization.objects.get().name == "hello"
    [event] = _events("backoffice.approved")
    assert event.actor_id == operators[1].pk
    assert event.details == {"action_id": action.pk, "kind": "test_write_note", "entered_by": operators[0].pk}


@pytest.mark.parametrize("decide", [engine.approve, engine.reject], ids=["approve", "reject"])
def test_r_a1_the_entrant_can_neither_approve_nor_reject_their_own_entry(operators, write_note, decide):
    action = engine.enter(write_note, Note("mine"), entrant=operators[0])
    with pytest.raises(Forbidden) as refused:
        decide(action.pk, decider=operators[0])
    assert refused.value.message == "入力した職員とは別の職員が承認してください。"
    action.refresh_from_db()
    assert action.status == PendingAction.Status.PENDING and action.decided_by is None
    assert not _events("backoffice.approved") and not _events("backoffice.rejected")
    assert not Organization.objects.exists()


def test_r_a1_rejecting_ones_own_paper_entry_is_refused_not_a_crash(branch, operators):
    """Before the engine, this reached the database's CHECK and failed as a server error."""
    entered = backoffice.enter_contract_registration(operators[0], application())
    with pytest.raises(Forbidden):
        backoffice.reject(operators[0], entered.pk)
    backoffice.reject(operators[1], entered.pk)
    assert PendingAction.objects.get(pk=entered.pk).status == PendingAction.Status.REJECTED
    assert not Contract.objects.exists()


def test_r_a1_an_inactive_operator_decides_nothing(operators, write_note):
    action = engine.enter(write_note, Note("x"), entrant=operators[0])
    Operator.objects.filter(pk=operators[1].pk).update(is_active=False)
    operators[1].refresh_from_db()
    for decide in (engine.approve, engine.reject):
        with pytest.raises(Forbidden):
            decide(action.pk, decider=operators[1])
    assert PendingAction.objects.get(pk=action.pk).status == PendingAction.Status.PENDING


def test_who_may_decide_is_the_procedures_rule(operators, supervised_note):
    """The rule travels with the procedure (as R-G3's "another user of the contract with the approval
    permission" will): here another operator is not enough, only the supervisor decides."""
    supervisor = backoffice.create_operator(
        login_name="clerk3", display_name="監督 三郎", password=OPERATOR_PASSWORD
    )
    action = engine.enter(supervised_note, Note("supervised"), entrant=operators[0])
    [entered] = _events("test.entered")
    assert entered.details["kind"] == "test_supervised_note"
    with pytest.raises(Forbidden):
        engine.approve(action.pk, decider=operators[1])
    assert not Organization.objects.exists()
    engine.approve(action.pk, decider=supervisor)
    assert Organization.objects.get().name == "supervised"
    assert len(_events("test.approved")) == 1
    assert not _events("backoffice.approved")


def test_an_action_of_an_unknown_kind_is_not_found_and_stays_pending(operators):
    action = PendingAction.objects.create(kind="no_such_procedure", summary="?", entered_by=operators[0])
    for decide in (engine.approve, engine.reject):
        with pytest.raises(NotFound):
            decide(action.pk, decider=operators[1])
    with pytest.raises(NotFound):
        engine.procedure_for("no_such_procedure")
    assert PendingAction.objects.get(pk=action.pk).status == PendingAction.Status.PENDING
    assert not _events("backoffice.approved") and not _events("backoffice.rejected")


def test_r_a1_an_effect_that_raises_leaves_nothing_half_written(operators, write_note):
    action = engine.enter(write_note, Note("fail"), entrant=operators[0])
    with pytest.raises(Conflict):
        engine.approve(action.pk, decider=operators[1])
    action.refresh_from_db()
    assert action.status == PendingAction.Status.PENDING
    assert action.decided_by is None and action.decided_at is None
    # Neither what the effect wrote before it failed, nor the approval, nor their audit events.
    assert not Organization.objects.exists()
    assert not _events("test.note_written")
    assert not _events("backoffice.approved")
    audit.seal()
    assert audit.verify_chain().intact
    # The entry can still be decided: rejected here.
    engine.reject(action.pk, decider=operators[1])
    assert PendingAction.objects.get(pk=action.pk).status == PendingAction.Status.REJECTED


def test_a_decided_action_is_decided_once(operators, write_note):
    action = engine.enter(write_note, Note("once"), entrant=operators[0])
    engine.reject(action.pk, decider=operators[1])
    for decide in (engine.approve, engine.reject):
        with pytest.raises(Conflict):
            decide(action.pk, decider=operators[1])
    with pytest.raises(NotFound):
        engine.approve(action.pk + 1000, decider=operators[1])
