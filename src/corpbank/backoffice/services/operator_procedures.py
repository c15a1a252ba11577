"""職員管理 as four-eyes procedures (R-A1): registering an operator, changing a role, lifting a lockout,
resetting the password or the second factor, and stopping an operator are each *entered* by one
administrator and take effect only when *another* active administrator, not the operator concerned,
approves them, on the approval engine.

So that no single administrator can make another operator's login possible for themselves:

- nobody chooses an operator's password, and no administrator knows a whole one: the registration's
  and a reset's initial password is generated at approval in two halves (:class:`OperatorLetter`); the
  approving administrator is shown the second half once, at approval, and the entering administrator
  the first half once, on the action's page (:func:`show_first_half`; sealed until then, erased
  when shown). Each hands the operator an envelope;
- with an app registered, the login asks the app's code before the operator may replace the password
  (operators.next_login_step), so a password alone never becomes a chosen one;
- the two factors are never both unknown to the operator at once: the second factor is not reset while
  the password is still an initial one, and the password is not reset while no second factor is
  registered;
- one procedure about an operator at a time: another is not entered while one is pending (a stop
  excepted, which rejects them), and each approval locks the operator's principal before its checks.

What remains (docs/operations.md): the two administrators together know a new operator's whole initial
password; the audit log names both, and who logged in."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from corpbank.approvals import engine
from corpbank.approvals.engine import DeciderRule
from corpbank.approvals.models import PendingAction
from corpbank.backoffice.models import Operator, OperatorPasswordHalf, OperatorTotp
from corpbank.backoffice.services.details import access, choice, row
from corpbank.backoffice.services.operators import (
    add_operator,
    half_bound_to,
    has_second_factor,
    login_name_of,
    login_name_taken,
    operator_actor,
    operator_identity_problems,
    password_is_initial,
    store_initial_password,
)
from corpbank.core import audit
from corpbank.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from corpbank.identity import lockout
from corpbank.identity import selectors as identity_selectors
from corpbank.identity.credentials import generate_initial_password
from corpbank.tokens import seeds

# An initial password is two halves of this many characters, one for each administrator.
HALF_LENGTH = 6


@dataclasses.dataclass(frozen=True)
class OperatorLetter:
    """One half of an operator's initial password, for one of the two administrators to hand to the
    operator in a sealed envelope: the second half, shown once to the approving administrator at
    approval; the first, shown once to the administrator who entered the procedure. Never stored in
    clear (the first half is sealed until shown); the operator types both, then replaces them."""

    login_name: str
    display_name: str
    half: str  # "first" or "second"
    password_half: str
    # Who hands over the other half: "氏名（ログイン名 …）".
    other_administrator: str


class AnotherActiveAdministrator(DeciderRule):
    """An administrator enters; another active administrator, who is not the operator concerned,
    approves or rejects. Clerks and approvers neither enter nor decide these."""

    audit_prefix = "operator_procedure"

    def actor(self, person: Any, ip_address: str) -> audit.Actor:
        return operator_actor(person, ip_address)

    def may_enter(self, person: Any) -> bool:
        return isinstance(person, Operator) and person.administers

    def is_entrant(self, action: PendingAction, person: Any) -> bool:
        return isinstance(person, Operator) and action.entered_by_id == person.pk

    def may_decide(self, action: PendingAction, person: Any) -> bool:
        return (
            isinstance(person, Operator)
            and person.administers
            and action.payload.get("operator_id") != person.pk
        )

    def may_see(self, person: Any) -> bool:
        # Clerks and approvers are told an operator procedure does not exist, as for a missing one.
        return isinstance(person, Operator) and person.administers

    def own_entry_refused(self) -> Forbidden:
        return Forbidden(_("入力した管理者とは別の管理者が承認してください。"))

    def not_allowed(self) -> Forbidden:
        return Forbidden(
            _("職員の手続を承認・却下できるのは、入力した管理者と対象の職員以外の管理者のみです。")
        )

    def not_allowed_to_enter(self) -> Forbidden:
        return Forbidden(_("職員の管理は管理者の職員のみ行えます。"))


ANOTHER_ACTIVE_ADMINISTRATOR = AnotherActiveAdministrator()


def _operator(operator_id: object) -> Operator:
    operator = (
        Operator.objects.select_related("principal").filter(pk=operator_id).first()
        if isinstance(operator_id, int)
        else None
    )
    if operator is None:
        raise NotFound(_("職員が見つかりません。"))
    return operator


def _active(operator_id: object) -> Operator:
    operator = _operator(operator_id)
    if not operator.is_active:
        raise Conflict(_("この職員は既に利用停止されています。"))
    return operator


HALVES_ISSUED = gettext_lazy(
    "承認時に発行します。前半は入力した管理者に、後半は承認した管理者に一度だけ表示し、"
    "それぞれが本人に封書で渡します（本人は次回ログイン時に変更します）"
)


def _name(operator: Operator) -> str:
    return _("%(name)s（ログイン名 %(login_name)s）") % {
        "name": operator.display_name,
        "login_name": operator.login_name,
    }


class OperatorProcedure(engine.Procedure[Any]):
    """A procedure on one operator (or, for a registration, a new one): not tied to a contract."""

    decider_rule = ANOTHER_ACTIVE_ADMINISTRATOR
    # What the entry is called in the queue.
    title: Promise

    def summary(self, request: Any, entry: engine.Entry) -> str:
        return f"{self.title}（{entry.payload.get('login_name', '')}）"

    def concerned(self, action: PendingAction) -> Operator | None:
        return (
            Operator.objects.select_related("principal").filter(pk=action.payload.get("operator_id")).first()
        )

    def refuse_unless_admissible(self, operator: Operator) -> None:
        """Refuse (Conflict) what the operator's state does not allow now: at entry, and again at
        approval under the operator's lock. By default anything is."""

    def check(self, request: Any) -> engine.Entry:
        """An entry on an active operator (a registration, a role change and a stop check more)."""
        operator = _active(request.operator_id)
        self.refuse_unless_admissible(operator)
        return self.entry_on(operator)

    def entry_on(self, operator: Operator, **payload: Any) -> engine.Entry:
        return engine.Entry(
            contract=None, payload={"operator_id": operator.pk, "login_name": operator.login_name, **payload}
        )

    def lock_subject(self, payload: dict[str, Any]) -> None:
        """The operator's principal: two procedures about one operator (a password reset and a
        second-factor reset) approved at the same moment go one after the other, the second one's
        checks seeing what the first did; and logins, which lock it too, wait for them."""
        operator_id = payload.get("operator_id")
        principal_id = (
            Operator.objects.filter(pk=operator_id).values_list("principal_id", flat=True).first()
            if isinstance(operator_id, int)
            else None
        )
        if principal_id is not None:
            identity_selectors.principal_for_update(principal_id)

    def check_under_lock(self, entry: engine.Entry) -> None:
        if pending_about(entry.payload["operator_id"]).exists():
            raise Conflict(
                _(
                    "この職員には承認待ちの手続があります。その手続が承認または却下されてから入力してください。"
                )
            )

    def operator_row(self, action: PendingAction) -> engine.Detail:
        operator = self.concerned(action)
        return row("operator", _("職員"), _name(operator) if operator else _("（見つかりません）"))


@dataclasses.dataclass(frozen=True)
class Registration:
    login_name: str
    display_name: str
    role: str


@dataclasses.dataclass(frozen=True)
class OnOperator:
    """The request of a procedure on an operator, entered by an administrator (``entrant``)."""

    entrant: Operator
    operator_id: int
    role: str = ""


def pending_about(operator_id: int) -> Any:
    """The operator procedures still pending about the operator (a QuerySet of PendingAction)."""
    return PendingAction.objects.filter(
        status=PendingAction.Status.PENDING,
        kind__in=OPERATOR_PROCEDURE_KINDS,
        payload__operator_id=operator_id,
    )


def _halves() -> tuple[str, str]:
    """A new initial password (the character rules hold for the whole) as its two halves."""
    whole = generate_initial_password(length=2 * HALF_LENGTH)
    return whole[:HALF_LENGTH], whole[HALF_LENGTH:]


def _issue_halves(action: PendingAction, operator: Operator) -> OperatorLetter:
    """In the approval's transaction: store the new initial password, seal its first half for the
    entering administrator (erasing any half of an earlier procedure about the operator not yet shown:
    it belongs to a password that no longer exists), and return the approver's letter (the second)."""
    first, second = _halves()
    store_initial_password(operator, first + second)
    OperatorPasswordHalf.objects.filter(operator=operator).delete()
    key_id, sealed = seeds.seal(first.encode(), serial=half_bound_to(action.pk))
    OperatorPasswordHalf.objects.create(
        action=action, operator=operator, sealed_half=sealed, seed_key_id=key_id
    )
    return OperatorLetter(
        login_name=operator.login_name,
        display_name=operator.display_name,
        half="second",
        password_half=second,
        other_administrator=_name(action.entered_by),
    )


def _not_oneself(request: OnOperator) -> None:
    # An administrator's own role and stop are another administrator's entry: so that the bank never
    # loses its last administrator by a slip of one administrator's hand.
    if request.operator_id == request.entrant.pk:
        raise Conflict(_("ご自身の権限の変更や利用停止はできません。別の管理者が行ってください。"))


class RegisterOperator(OperatorProcedure):
    """職員の登録: at approval the operator exists, with a generated initial password."""

    kind = "operator_register"

    title = gettext_lazy("職員の登録")

    def check(self, request: Registration) -> engine.Entry:
        login_name = login_name_of(request.login_name)
        display_name = request.display_name.strip()
        if problems := operator_identity_problems(login_name, display_name, request.role):
            raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
        if Operator.objects.filter(login_name=login_name).exists():
            raise login_name_taken()
        return engine.Entry(
            contract=None,
            payload={"login_name": login_name, "display_name": display_name, "role": request.role},
        )

    def check_under_lock(self, entry: engine.Entry) -> None:
        if PendingAction.objects.filter(
            status=PendingAction.Status.PENDING,
            kind=self.kind,
            payload__login_name=entry.payload["login_name"],
        ).exists():
            raise Conflict(
                _("このログイン名の職員の登録は承認待ちです。"),
                fields={"login_name": _("このログイン名の職員の登録は承認待ちです。")},
            )

    def details(self, action: PendingAction) -> list[engine.Detail]:
        return [
            row("login_name", _("職員ログイン名"), action.payload["login_name"]),
            row("display_name", _("氏名"), action.payload["display_name"]),
            row("role", _("権限"), choice(Operator.Role, action.payload["role"])),
            row("password", _("初期パスワード"), HALVES_ISSUED),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> OperatorLetter:
        first, second = _halves()
        operator = add_operator(
            login_name=action.payload["login_name"],
            display_name=action.payload["display_name"],
            role=action.payload["role"],
            password=first + second,  # replaced at once by _issue_halves, with its expiry
            must_change=True,
            actor=actor,
        )
        return _issue_halves(action, operator)


class ChangeRole(OperatorProcedure):
    kind = "operator_role"

    title = gettext_lazy("職員の権限の変更")

    def check(self, request: OnOperator) -> engine.Entry:
        operator = _active(request.operator_id)
        _not_oneself(request)
        if request.role not in Operator.Role.values:
            raise ValidationFailed(
                _("入力内容をご確認ください。"), fields={"role": _("権限を選択してください。")}
            )
        if request.role == operator.role:
            raise Conflict(_("この職員は既にその権限です。"))
        return self.entry_on(operator, role=request.role)

    def details(self, action: PendingAction) -> list[engine.Detail]:
        operator = self.concerned(action)
        return [
            self.operator_row(action),
            row(
                "role",
                _("権限"),
                choice(Operator.Role, action.payload["role"]),
                before=choice(Operator.Role, operator.role) if operator else None,
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        operator = _active(action.payload["operator_id"])
        role = action.payload["role"]
        Operator.objects.filter(pk=operator.pk).update(role=role)
        audit.record(
            "operator.role_changed",
            actor=actor,
            details={
                "action_id": action.pk,
                "login_name": operator.login_name,
                "from": operator.role,
                "to": role,
            },
        )


class DeactivateOperator(OperatorProcedure):
    """利用停止 of an operator who left: no more logins, every open session ends, and what is pending
    of theirs or about them is rejected (the entries they made, the procedures about them), in the
    same transaction. Entered even while another procedure about them is pending (stopping comes
    first)."""

    kind = "operator_deactivate"

    title = gettext_lazy("職員の利用停止")

    def check(self, request: OnOperator) -> engine.Entry:
        operator = _active(request.operator_id)
        _not_oneself(request)
        return self.entry_on(operator)

    def details(self, action: PendingAction) -> list[engine.Detail]:
        operator = self.concerned(action)
        # What the approval will reject with the stop, told to whoever decides it.
        waiting = _pending_of(operator).exclude(pk=action.pk).count() if operator else 0
        return [
            self.operator_row(action),
            row(
                "status",
                _("状態"),
                _("利用停止（ログインを終了します）"),
                before=(_("利用中") if operator.is_active else _("利用停止")) if operator else None,
            ),
            row(
                "pending",
                _("承認待ちの手続"),
                _("この職員が受付した手続・この職員についての手続%(count)d件を却下します")
                % {"count": waiting}
                if waiting
                else _("ありません"),
            ),
        ]

    def check_under_lock(self, entry: engine.Entry) -> None:
        if pending_about(entry.payload["operator_id"]).filter(kind=self.kind).exists():
            raise Conflict(_("この職員の利用停止は承認待ちです。"))

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        operator = _operator(action.payload["operator_id"])
        if not Operator.objects.filter(pk=operator.pk, is_active=True).update(is_active=False):
            raise Conflict(_("この職員は既に利用停止されています。"))
        lockout.end_sessions(operator.principal_id)
        OperatorPasswordHalf.objects.filter(
            Q(operator=operator) | Q(action__entered_by=operator)
        ).delete()  # halves nobody will hand over now
        audit.record(
            "operator.deactivated",
            actor=actor,
            details={"action_id": action.pk, "login_name": operator.login_name},
        )
        _reject_pending_of(operator, stop=action, actor=actor)


class LiftOperatorLock(OperatorProcedure):
    """ロックアウト・利用停止の解除 of an operator (wrong passwords or wrong codes)."""

    kind = "operator_unlock"

    title = gettext_lazy("職員のロックアウト・利用停止の解除")

    def details(self, action: PendingAction) -> list[engine.Detail]:
        operator = self.concerned(action)
        return [
            self.operator_row(action),
            row(
                "access",
                _("ログイン"),
                _("利用可能（連続誤り回数を0に戻します）"),
                before=access(operator.principal) if operator else None,
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        operator = _active(action.payload["operator_id"])
        lockout.lift(operator.principal_id, actor=actor, reason=f"operator {operator.login_name}")


class ResetSecondFactor(OperatorProcedure):
    """認証アプリの再登録: a lost or replaced phone. The operator registers an app again at the next login
    (after the password); open sessions end. Refused while the password is still an initial one: the
    administrator who saw its letter would otherwise hold both factors."""

    kind = "operator_reset_second_factor"

    title = gettext_lazy("職員の認証アプリの再登録")

    def refuse_unless_admissible(self, operator: Operator) -> None:
        if password_is_initial(operator):
            raise Conflict(
                _(
                    "この職員は初期パスワードを変更していないため、認証アプリの再登録はできません。"
                    "本人が初期パスワードを変更してから手続してください。"
                )
            )

    def details(self, action: PendingAction) -> list[engine.Detail]:
        operator = self.concerned(action)
        return [
            self.operator_row(action),
            row(
                "second_factor",
                _("認証アプリ"),
                _("登録を解除（本人が次回ログイン時に新しい認証アプリを登録します）"),
                before=(_("登録済") if has_second_factor(operator) else _("未登録")) if operator else None,
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        operator = _active(action.payload["operator_id"])
        self.refuse_unless_admissible(operator)
        OperatorTotp.objects.filter(operator=operator).delete()
        lockout.end_sessions(operator.principal_id)
        audit.record(
            "operator.second_factor_reset",
            actor=actor,
            details={"action_id": action.pk, "login_name": operator.login_name},
        )


class ResetPassword(OperatorProcedure):
    """パスワードの再発行: a new initial password in two halves (one for each administrator), to be
    changed at the next login after the app's code; the lockout is lifted and open sessions end.
    Refused while the operator has no second factor registered: whoever knew the password could
    otherwise enrol one."""

    kind = "operator_reset_password"

    title = gettext_lazy("職員のパスワードの再発行")

    def refuse_unless_admissible(self, operator: Operator) -> None:
        if not has_second_factor(operator):
            raise Conflict(
                _(
                    "この職員は認証アプリが登録されていないため、パスワードの再発行はできません。"
                    "利用停止のうえ、新しい職員として登録してください。"
                )
            )

    def details(self, action: PendingAction) -> list[engine.Detail]:
        operator = self.concerned(action)
        return [
            self.operator_row(action),
            row("password", _("パスワード"), HALVES_ISSUED),
            row(
                "access",
                _("ロックアウト・利用停止"),
                _("解除"),
                before=access(operator.principal) if operator else None,
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> OperatorLetter:
        operator = _active(action.payload["operator_id"])
        self.refuse_unless_admissible(operator)
        letter = _issue_halves(action, operator)
        lockout.lift(operator.principal_id, actor=actor, reason=f"operator {operator.login_name}")
        lockout.end_sessions(operator.principal_id)
        audit.record(
            "operator.password_reset",
            actor=actor,
            details={"action_id": action.pk, "login_name": operator.login_name},
        )
        return letter


REGISTER_OPERATOR = engine.register(RegisterOperator())
CHANGE_ROLE = engine.register(ChangeRole())
DEACTIVATE_OPERATOR = engine.register(DeactivateOperator())
LIFT_OPERATOR_LOCK = engine.register(LiftOperatorLock())
RESET_SECOND_FACTOR = engine.register(ResetSecondFactor())
RESET_PASSWORD = engine.register(ResetPassword())

# The operator procedures entered by their name in URLs (the screens and the API).
BY_NAME: dict[str, engine.Procedure[Any]] = {
    "unlock": LIFT_OPERATOR_LOCK,
    "reset-second-factor": RESET_SECOND_FACTOR,
    "reset-password": RESET_PASSWORD,
    "deactivate": DEACTIVATE_OPERATOR,
}
# What an administrator's queue shows, and a clerk's or an approver's does not.
OPERATOR_PROCEDURE_KINDS = frozenset(
    procedure.kind
    for procedure in (
        REGISTER_OPERATOR,
        CHANGE_ROLE,
        DEACTIVATE_OPERATOR,
        LIFT_OPERATOR_LOCK,
        RESET_SECOND_FACTOR,
        RESET_PASSWORD,
    )
)


STOPPED_OPERATOR_REASON = "職員の利用停止に伴う却下"


def _pending_of(operator: Operator) -> Any:
    """What is pending that the operator entered, or that is about them (a QuerySet of PendingAction)."""
    return PendingAction.objects.filter(status=PendingAction.Status.PENDING).filter(
        Q(entered_by=operator) | Q(kind__in=OPERATOR_PROCEDURE_KINDS, payload__operator_id=operator.pk)
    )


def _reject_pending_of(operator: Operator, *, stop: PendingAction, actor: audit.Actor) -> None:
    """In the stop's transaction: reject what the stopped operator entered and what is pending about
    them, each with its rejection audited. The decider recorded is the stop's approver, or, for an
    entry that approver made, the stop's entrant (nobody decides their own entry, R-A1)."""
    pending = _pending_of(operator).select_for_update().exclude(pk=stop.pk).order_by("pk")
    now = timezone.now()
    for action in pending:
        decider_id = actor.id if action.entered_by_id != actor.id else stop.entered_by_id
        PendingAction.objects.filter(pk=action.pk).update(
            status=PendingAction.Status.REJECTED,
            decided_at=now,
            decided_by_id=decider_id,
            # The bank's record, in the bank's language, as the summaries are (engine.enter).
            decision_reason=STOPPED_OPERATOR_REASON,
        )
        try:
            prefix = engine.procedure_for(action.kind).decider_rule.audit_prefix
        except NotFound:
            prefix = "backoffice"
        audit.record(
            f"{prefix}.rejected",
            actor=actor,
            contract_id=action.contract_id,
            details={
                "action_id": action.pk,
                "kind": action.kind,
                "reason": "operator_deactivated",
                "login_name": operator.login_name,
            },
        )


def show_first_half(admin: Operator, action_id: int, *, ip_address: str = "") -> OperatorLetter:
    """The first half of the initial password a registration or a password reset issued, shown once to
    the administrator who entered it (after another approved it), then erased; audited. Anyone else,
    or a half shown already: 404, as for a missing one."""
    with transaction.atomic(durable=True):
        half = (
            OperatorPasswordHalf.objects.select_for_update(of=("self",))
            .select_related("action__entered_by", "action__decided_by", "operator")
            .filter(action_id=action_id)
            .first()
        )
        if half is None or not admin.administers or half.action.entered_by_id != admin.pk:
            raise NotFound(_("表示できる初期パスワードはありません。"))
        plain = seeds.open_sealed(half.seed_key_id, bytes(half.sealed_half), serial=half_bound_to(action_id))
        operator, approver = half.operator, half.action.decided_by
        half.delete()
        audit.record(
            "operator.initial_password_half_shown",
            actor=operator_actor(admin, ip_address),
            details={"action_id": action_id, "login_name": operator.login_name},
        )
    return OperatorLetter(
        login_name=operator.login_name,
        display_name=operator.display_name,
        half="first",
        password_half=plain.decode(),
        other_administrator=_name(approver) if approver else "",
    )


def enter_operator_registration(
    admin: Operator, *, login_name: str, display_name: str, role: str, ip_address: str = ""
) -> PendingAction:
    """職員の登録 by an administrator; the operator exists once another administrator approves it."""
    return engine.enter(
        REGISTER_OPERATOR, Registration(login_name, display_name, role), entrant=admin, ip_address=ip_address
    )


def enter_role_change(admin: Operator, operator_id: int, role: str, *, ip_address: str = "") -> PendingAction:
    return engine.enter(
        CHANGE_ROLE, OnOperator(admin, operator_id, role), entrant=admin, ip_address=ip_address
    )


def enter_operator_procedure(
    admin: Operator, operator_id: int, name: str, *, ip_address: str = ""
) -> PendingAction:
    """unlock, reset-second-factor, reset-password or deactivate, by its name in the URL."""
    procedure = BY_NAME.get(name)
    if procedure is None:
        raise NotFound(_("不明な手続です。"))
    return engine.enter(procedure, OnOperator(admin, operator_id), entrant=admin, ip_address=ip_address)
