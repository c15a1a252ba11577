"""The bank's reads: its contract list, the audit search in the bank's words (R-I3), and a
procedure's entry as the operator who decides it sees it (R-A1)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from corpbank.approvals import engine
from corpbank.approvals.models import PendingAction
from corpbank.authentication.models import Question
from corpbank.backoffice.models import Operator, OperatorPasswordHalf, OperatorTotp
from corpbank.backoffice.services.details import choice, person, when, yen
from corpbank.core import audit_labels, text
from corpbank.core.errors import NotFound, ValidationFailed
from corpbank.core.models import AuditEvent
from corpbank.identity.models import SecretKind
from corpbank.organizations.models import Account, Contract, CustomerUser, Permission, UsageLimit
from corpbank.tokens.models import Token, TokenFee


def contracts(query: str = "") -> QuerySet[Contract]:
    found = Contract.objects.select_related("organization", "branch").order_by("number")
    if query:
        found = found.filter(
            Q(number__startswith=text.half_width(query))  # a number typed in full-width digits
            | Q(organization__name__icontains=query)
            | Q(organization__name_kana__icontains=query)
        )
    return found


# ---------------------------------------------------------------------------------------------------
# The audit search (R-I3)

AUDIT_PAGE_SIZE = 50


@dataclasses.dataclass(frozen=True)
class AuditCriteria:
    """The audit search's filters, in the clerk's words: 期間, 契約番号, ログインID, 操作の種類 (an event
    or a group of them, core.audit_labels), 実行者 (an operator's or a customer's name or login)."""

    date_from: date | None = None
    date_to: date | None = None
    contract_number: str = ""
    login_id: str = ""
    action: str = ""
    actor: str = ""


def _typed_date(value: str) -> date | None:
    """A date as typed: 2025-04-01, 2025/4/1, or in full-width digits. Raises ValueError."""
    typed = text.half_width(value).replace("/", "-")
    if not typed:
        return None
    parts = typed.split("-")
    if len(parts) != 3 or not all(text.is_digits(part) and len(part) <= 4 for part in parts):
        raise ValueError(typed)  # 99999999999999999999-1-1 too: date() would overflow, not refuse
    year, month, day = (int(part) for part in parts)
    return date(year, month, day)


def reversed_period_message() -> str:
    return _("期間の終わりは始まりと同じ日か、それより後の日にしてください。")


def reversed_period(date_from: date | None, date_to: date | None) -> bool:
    return date_from is not None and date_to is not None and date_from > date_to


def audit_criteria(typed: Mapping[str, str]) -> AuditCriteria:
    """The filters as typed on the screen (or sent to the API), checked: a message per bad field."""
    problems: dict[str, str] = {}
    dates: dict[str, date | None] = {}
    for field in ("date_from", "date_to"):
        try:
            dates[field] = _typed_date(typed.get(field, ""))
        except ValueError:
            dates[field] = None
            problems[field] = _("日付は「2025-04-01」の形で入力してください。")
    if reversed_period(dates["date_from"], dates["date_to"]):
        problems["date_to"] = reversed_period_message()
    contract_number = text.half_width(typed.get("contract_number", ""))
    if contract_number and not (text.is_digits(contract_number) and len(contract_number) == 10):
        problems["contract_number"] = _("契約番号は半角数字10桁で入力してください。")
    action = typed.get("action", "").strip()
    if action and audit_labels.actions_for(action) is None:
        problems["action"] = _("操作の種類は一覧から選択してください。")
    if problems:
        raise ValidationFailed(_("検索条件をご確認ください。"), fields=problems)
    return AuditCriteria(
        date_from=dates["date_from"],
        date_to=dates["date_to"],
        contract_number=contract_number,
        login_id=text.half_width(typed.get("login_id", "")),
        action=action,
        actor=text.search_text(typed.get("actor", "")),
    )


def audit_events(criteria: AuditCriteria) -> QuerySet[AuditEvent]:
    """Every audit event the criteria select, newest first."""
    events = AuditEvent.objects.order_by("-id")
    if criteria.action:
        actions = audit_labels.actions_for(criteria.action)
        # The screen offers only events and groups; the API also takes the start of a name ("login.").
        events = (
            events.filter(action__in=actions)
            if actions is not None
            else events.filter(action__startswith=criteria.action)
        )
    if criteria.contract_number:
        contract_ids = Contract.objects.filter(number=criteria.contract_number).values_list("pk", flat=True)
        events = events.filter(contract_id__in=list(contract_ids))
    if criteria.login_id:
        # The user's events, the user's own acts, and attempts with the ID that named nobody; the user
        # who holds the ID now, and whoever acted under it before (an initialization changes it).
        user_ids = list(CustomerUser.objects.filter(login_id=criteria.login_id).values_list("pk", flat=True))
        user_ids += [
            actor_id
            for actor_id in AuditEvent.objects.filter(
                actor_type=AuditEvent.ActorType.CUSTOMER, actor_label=criteria.login_id
            )
            .values_list("actor_id", flat=True)
            .distinct()
            if actor_id is not None
        ]
        events = events.filter(
            Q(subject_user_id__in=user_ids)
            | Q(actor_type=AuditEvent.ActorType.CUSTOMER, actor_id__in=user_ids)
            | Q(details__login_id=criteria.login_id)
        )
    if criteria.actor:
        operator_ids = Operator.objects.filter(
            Q(login_name__icontains=criteria.actor) | Q(display_name__icontains=criteria.actor)
        ).values_list("pk", flat=True)
        customer_ids = CustomerUser.objects.filter(
            Q(login_id__icontains=criteria.actor) | Q(name__icontains=criteria.actor)
        ).values_list("pk", flat=True)
        by_actor = Q(actor_type=AuditEvent.ActorType.OPERATOR, actor_id__in=list(operator_ids)) | Q(
            actor_type=AuditEvent.ActorType.CUSTOMER, actor_id__in=list(customer_ids)
        )
        if criteria.actor.casefold() in (str(_("システム")).casefold(), "system"):
            by_actor |= Q(actor_type=AuditEvent.ActorType.SYSTEM)
        events = events.filter(by_actor)
    if criteria.date_from:
        events = events.filter(at__date__gte=criteria.date_from)
    if criteria.date_to:
        events = events.filter(at__date__lte=criteria.date_to)
    return events


def search_audit(
    *,
    action: str = "",
    contract_number: str = "",
    login_id: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    actor: str = "",
    limit: int = 200,
) -> list[AuditEvent]:
    """The bank's search over every audit event (R-I3), for the API: ``action`` an event name,
    ``group:<key>``, or the start of event names."""
    if reversed_period(date_from, date_to):  # as the screen refuses it (audit_criteria)
        raise ValidationFailed(_("検索条件をご確認ください。"), fields={"date_to": reversed_period_message()})
    criteria = AuditCriteria(
        date_from=date_from,
        date_to=date_to,
        contract_number=text.half_width(contract_number),
        login_id=text.half_width(login_id),
        action=action.strip(),
        actor=text.search_text(actor),
    )
    return list(audit_events(criteria)[:limit])


@dataclasses.dataclass(frozen=True)
class AuditRow:
    """One event as the bank's audit screen shows it."""

    event: AuditEvent
    label: str
    outcome: audit_labels.Outcome
    actor: str
    contract: Contract | None
    subject: CustomerUser | None
    action_id: int | None
    details: list[tuple[str, str]]


def audit_page(criteria: AuditCriteria, page: str | int = 1) -> tuple[Page[AuditEvent], list[AuditRow]]:
    """A page of the search, each event with its people and contract read once for the whole page."""
    found = Paginator(audit_events(criteria), AUDIT_PAGE_SIZE).get_page(page)
    events: list[AuditEvent] = list(found.object_list)
    return found, audit_rows(events)


def audit_rows(events: list[AuditEvent]) -> list[AuditRow]:
    operator_ids = {e.actor_id for e in events if e.actor_type == AuditEvent.ActorType.OPERATOR}
    operator_ids |= {e.details["entered_by"] for e in events if isinstance(e.details.get("entered_by"), int)}
    operators_by_id = Operator.objects.in_bulk([pk for pk in operator_ids if pk is not None])
    user_ids = {e.subject_user_id for e in events} | {
        e.actor_id for e in events if e.actor_type == AuditEvent.ActorType.CUSTOMER
    }
    users = CustomerUser.objects.in_bulk([pk for pk in user_ids if pk is not None])
    contracts_by_id = Contract.objects.select_related("organization").in_bulk(
        [e.contract_id for e in events if e.contract_id is not None]
    )
    action_ids = [e.details["action_id"] for e in events if isinstance(e.details.get("action_id"), int)]
    summaries = dict(PendingAction.objects.filter(pk__in=action_ids).values_list("pk", "summary"))
    rows = []
    for event in events:
        action_id = event.details.get("action_id")
        rows.append(
            AuditRow(
                event=event,
                label=event.action_label,
                outcome=audit_labels.outcome(event.action),
                actor=_actor(event, operators_by_id, users),
                contract=contracts_by_id.get(event.contract_id) if event.contract_id else None,
                subject=users.get(event.subject_user_id) if event.subject_user_id else None,
                action_id=action_id if isinstance(action_id, int) else None,
                details=_details(event, operators_by_id, summaries),
            )
        )
    return rows


def _actor(event: AuditEvent, operators_by_id: dict[int, Operator], users: dict[int, CustomerUser]) -> str:
    """実行者: an operator's name and login name, a customer's name and login ID, or システム."""
    if event.actor_type == AuditEvent.ActorType.OPERATOR:
        operator = operators_by_id.get(event.actor_id) if event.actor_id else None
        if operator is not None:
            return _("%(name)s（職員 %(login_name)s）") % {
                "name": operator.display_name,
                "login_name": operator.login_name,
            }
        return _("職員 %(login_name)s") % {"login_name": event.actor_label}
    if event.actor_type == AuditEvent.ActorType.CUSTOMER:
        user = users.get(event.actor_id) if event.actor_id else None
        # The login ID it acted under; other labels ("user#N", "master of <contract>") are no ID.
        then = event.actor_label
        was_an_id = text.is_half_width(then) and not then.startswith("user#")
        if user is not None and was_an_id and then != user.login_id:
            # The login ID the user acted under then (an initialization or re-registration changed it).
            return _("%(name)s（ログインID %(login_id)s：当時）") % {
                "name": user.name,
                "login_id": event.actor_label,
            }
        return person(user)
    if event.actor_type == AuditEvent.ActorType.SYSTEM:
        return _("システム")
    return _("未ログインの利用者")


def _details(
    event: AuditEvent, operators_by_id: dict[int, Operator], summaries: dict[int, str]
) -> list[tuple[str, str]]:
    """詳細 as labelled values in the bank's words; never a Python or JSON representation."""
    rows = []
    action_id = event.details.get("action_id")
    # In the order of the keys' names: PostgreSQL's jsonb keeps no order of its own.
    for key, value in sorted(event.details.items()):
        if key == "action_id":
            continue  # shown as the link to the procedure
        if key == "kind" and isinstance(action_id, int):
            # A procedure's kind: what it was is its summary, in words.
            if "summary" not in event.details:
                rows.append((audit_labels.detail_label("summary"), summaries.get(action_id, "—")))
            continue
        if key == "entered_by":
            operator = operators_by_id.get(value) if isinstance(value, int) else None
            rows.append((audit_labels.detail_label(key), operator.display_name if operator else str(value)))
            continue
        rows.append((audit_labels.detail_label(key), _value(event.action, key, value)))
    return rows


def _value(action: str, key: str, value: Any) -> str:
    if isinstance(value, list):
        return "、".join(_value(action, key, item) for item in value) or "—"
    if isinstance(value, dict):
        if value.keys() == {"branch", "type", "number"}:  # an account: 店番 科目 口座番号
            return f"{value['branch']} {choice(Account.Type, value['type'])} {value['number']}"
        if {"kind", "per_transaction", "per_day"} <= value.keys():
            return _("%(kind)s 1回あたり %(per_transaction)s・1日あたり %(per_day)s") % {
                "kind": choice(UsageLimit.Kind, value["kind"]),
                "per_transaction": yen(value["per_transaction"]),
                "per_day": yen(value["per_day"]),
            }
        return "、".join(f"{audit_labels.detail_label(k)}: {_value(action, k, v)}" for k, v in value.items())
    if isinstance(value, bool):
        return str(_("はい") if value else _("いいえ"))
    if value is None or value == "":
        return "—"
    if key in ("kind", "kinds", "must_change") and value in SecretKind.values:
        return str(SecretKind(value).label)
    if key in ("question", "questions") and value in Question.values:
        return str(Question(value).label)
    if key == "permissions" and value in Permission.values:
        return str(Permission(value).label)
    if key == "contract_status" or (key in ("from", "to") and value in Contract.Status.values):
        return choice(Contract.Status, value)
    if key in ("role", "from", "to") and value in Operator.Role.values:
        return choice(Operator.Role, value)
    if key == "fee_reason" or (action == "token.fee_recorded" and key == "reason"):
        return choice(TokenFee.Reason, value) if value else str(_("初回発行（無料）"))
    if key == "type" and value in Token.Type.values:
        return choice(Token.Type, value)
    if key == "principal":
        return audit_labels.value_label(key, value)
    if key == "amount_yen" and isinstance(value, int):
        return yen(value)
    if key in ("until", "not_after") and isinstance(value, str):
        return _moment(value)
    if key == "reason" and isinstance(value, str):
        return audit_labels.reason_label(value)
    if key == "changed" and isinstance(value, str):
        return audit_labels.value_label(key, value)
    return str(value)


def _moment(value: str) -> str:
    try:
        return when(datetime.fromisoformat(value))
    except ValueError:
        return value


# ---------------------------------------------------------------------------------------------------
# A procedure, as the operator who decides it sees it


@dataclasses.dataclass(frozen=True)
class ActionView:
    action: PendingAction
    details: list[engine.Detail]
    # A pending change shows what each field is now beside what it becomes; a decided one does not,
    # since "now" is then after the change.
    shows_before: bool
    # The viewer entered it (and so may not decide it), or may decide it now.
    is_own: bool
    may_decide: bool
    # The viewer entered a registration or a password reset, approved since, whose initial password's
    # first half waits to be shown to them once.
    first_half_waits: bool = False


def action_view(action_id: int, viewer: Operator) -> ActionView:
    """Every field of a procedure's entry, labelled, and whether the viewer may approve it. An entry
    whose rule the viewer may not see (an operator procedure, for a clerk or an approver) is missing."""
    action = (
        PendingAction.objects.select_related("entered_by", "decided_by", "contract__organization")
        .filter(pk=action_id)
        .first()
    )
    if action is None:
        raise NotFound(_("手続が見つかりません。"))
    try:
        procedure: engine.Procedure[Any] | None = engine.procedure_for(action.kind)
    except NotFound:
        procedure = None  # a kind no longer registered: its summary still shows
    if procedure is not None and not procedure.decider_rule.may_see(viewer):
        raise NotFound(_("手続が見つかりません。"))
    pending = action.status == PendingAction.Status.PENDING
    is_own = (
        procedure.decider_rule.is_entrant(action, viewer) if procedure else action.entered_by_id == viewer.pk
    )
    return ActionView(
        action=action,
        details=procedure.details(action) if procedure else [],
        shows_before=pending,
        is_own=is_own,
        may_decide=bool(pending and procedure and not is_own and procedure.may_decide(action, viewer)),
        first_half_waits=bool(
            is_own and viewer.administers and OperatorPasswordHalf.objects.filter(action=action).exists()
        ),
    )


def operators() -> list[Operator]:
    """Every operator, with whether an authenticator app is registered, for the administrators' list."""
    found = list(Operator.objects.select_related("principal").order_by("login_name"))
    enrolled = set(
        OperatorTotp.objects.filter(confirmed_at__isnull=False).values_list("operator_id", flat=True)
    )
    for operator in found:
        operator.has_second_factor = operator.pk in enrolled  # type: ignore[attr-defined]
    return found


def first_halves_waiting_for(admin: Operator) -> list[OperatorPasswordHalf]:
    """The approved registrations and password resets the administrator entered whose initial
    password's first half they have not been shown yet (each on its action's page, once)."""
    return list(
        OperatorPasswordHalf.objects.filter(action__entered_by=admin)
        .select_related("operator")
        .order_by("pk")
    )
