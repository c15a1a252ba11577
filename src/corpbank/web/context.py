from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from corpbank.calendar import days
from corpbank.web import drafts


def common(request: HttpRequest) -> dict[str, Any]:
    return {
        "bank_name": settings.CORPBANK_BANK_NAME,
        "helpdesk_phone": settings.CORPBANK_HELPDESK_PHONE,
        # Open now or not, on every screen: they all show the helpdesk's number (R-I1).
        "helpdesk": SimpleLazyObject(days.helpdesk),
        "customer": getattr(request, "customer", None),
        "operator": getattr(request, "operator", None),
        # A form sent after the session timed out, waiting on its page for the same person (R-A5).
        "draft_page": drafts.waiting(request),
    }
