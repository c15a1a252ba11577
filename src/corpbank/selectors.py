"""Reads: what screens and API endpoints show. Writes live in services/."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Q, QuerySet

from corpbank.models import (
    AuditEvent,
    Contract,
    CustomerUser,
    PendingAction,
    SoftwareTokenEnrolment,
    Token,
)

LOGIN_ACTIONS = (
    "login.succeeded",
    "logout",
    "secret.rejected",
    "principal.locked",
    "principal.suspended",
    "login.refused_contract_not_active",
)


def login_history(user: CustomerUser, *, limit: int = 50) -> list[AuditEvent]:
    """A user's own login history (R-I3): logins, logouts and failed login attempts."""
    events = AuditEvent.objects.filter(subject_user_id=user.pk, action__in=LOGIN_ACTIONS).order_by("-id")
    return [
        event
        for event in events[: limit * 2]
        if event.action != "secret.rejected" or event.details.get("kind") == "login_password"
    ][:limit]


def software_token(user: CustomerUser) -> SoftwareTokenEnrolment | None:
    """The user's software token: the live one, else the last one the bank stopped or cancelled."""
    enrolments = SoftwareTokenEnrolment.objects.filter(user=user).select_related("token__principal")
    live = enrolments.filter(state__in=["issued", "provisioned", "active"]).first()
    return live or enrolments.order_by("-issued_at", "-pk").first()


def hardware_token_counts() -> list[tuple[str, int]]:
    """How many hardware tokens are in each state, for the stock screen."""
    counted = dict(
        Token.objects.filter(type=Token.Type.HARDWARE)
        .values_list("state")
        .annotate(count=Count("pk"))
        .values_list("state", "count")
    )
    return [(str(label), counted.get(state, 0)) for state, label in Token.State.choices]


def general_users(master: CustomerUser) -> QuerySet[CustomerUser]:
    return (
        CustomerUser.objects.filter(contract_id=master.contract_id, role=CustomerUser.Role.GENERAL)
        .exclude(status=CustomerUser.Status.DELETED)
        .select_related("principal")
        .prefetch_related("permissions", "limits")
        .order_by("login_id")
    )


def contracts(query: str = "") -> QuerySet[Contract]:
    found = Contract.objects.select_related("organization", "branch").order_by("number")
    if query:
        found = found.filter(
            Q(number__startswith=query)
            | Q(organization__name__icontains=query)
            | Q(organization__name_kana__icontains=query)
        )
    return found


def pending_actions() -> QuerySet[PendingAction]:
    return (
        PendingAction.objects.filter(status=PendingAction.Status.PENDING)
        .select_related("entered_by", "contract", "contract__organization")
        .order_by("entered_at")
    )


def search_audit(
    *,
    action: str = "",
    contract_number: str = "",
    login_id: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 200,
) -> list[AuditEvent]:
    """The bank's search over every audit event (R-I3)."""
    events = AuditEvent.objects.order_by("-id")
    if action:
        events = events.filter(action__startswith=action)
    if contract_number:
        contract_ids = list(Contract.objects.filter(number=contract_number).values_list("pk", flat=True))
        events = events.filter(contract_id__in=contract_ids)
    if login_id:
        user_ids = list(CustomerUser.objects.filter(login_id=login_id).values_list("pk", flat=True))
        events = events.filter(Q(subject_user_id__in=user_ids) | Q(actor_label=login_id))
    if date_from:
        events = events.filter(at__date__gte=date_from)
    if date_to:
        events = events.filter(at__date__lte=date_to)
    return list(events[:limit])
