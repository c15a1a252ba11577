"""The bank's calendar as a customer's screen needs it (R-I1): whether the helpdesk is open now."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema

from corpbank.calendar import days

router = Router(tags=["calendar"])


class HelpdeskOut(Schema):
    phone: str
    open: bool
    next_opens: datetime | None
    message: str


@router.get("/helpdesk", auth=None, response={200: HelpdeskOut})
def helpdesk(request: HttpRequest) -> HelpdeskOut:
    """ヘルプデスク: its number, and whether it is open now (business days 9:00–18:00)."""
    status = days.helpdesk()
    return HelpdeskOut(
        phone=settings.CORPBANK_HELPDESK_PHONE,
        open=status.open,
        next_opens=status.next_opens,
        message=status.label,
    )


class ServiceHoursOut(Schema):
    operation: str
    label: str
    hours: str


@router.get("/service-hours", auth=None, response={200: list[ServiceHoursOut]})
def service_hours(request: HttpRequest) -> list[ServiceHoursOut]:
    """ご利用時間 per operation (R-I1), with the bank's current cut-off for same-day transfers."""
    return [
        ServiceHoursOut(operation=h.operation, label=h.label, hours=h.hours) for h in days.service_hours()
    ]
