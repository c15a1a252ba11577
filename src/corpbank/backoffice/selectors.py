"""The bank's reads: its contract list and the audit search."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from corpbank.core.models import AuditEvent
from corpbank.organizations.models import Contract, CustomerUser


def contracts(query: str = "") -> QuerySet[Contract]:
    found = Contract.objects.select_related("organization", "branch").order_by("number")
    if query:
        found = found.filter(
            Q(number__startswith=query)
            | Q(organization__name__icontains=query)
            | Q(organization__name_kana__icontains=query)
        )
    return found


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
