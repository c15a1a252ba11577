"""Reads of the approval queue."""

from __future__ import annotations

from django.db.models import QuerySet

from corpbank.approvals.models import PendingAction


def pending_actions() -> QuerySet[PendingAction]:
    return (
        PendingAction.objects.filter(status=PendingAction.Status.PENDING)
        .select_related("entered_by", "contract", "contract__organization")
        .order_by("entered_at")
    )
