"""トップページ: what a customer sees after logging in. It draws on several domains (the last logins,
the contract's accounts, a certificate due for renewal), so it lives in none of their modules."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from corpbank.authentication import selectors as authentication_selectors
from corpbank.certificates import services as certificates
from corpbank.certificates.models import ClientCertificate
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations.models import CustomerUser
from corpbank.web import sessions
from corpbank.web.pages import customer_required


def _renewal_due(customer: CustomerUser) -> ClientCertificate | None:
    if customer.contract.login_method != "certificate":
        return None
    current = certificates.active_certificate(customer)
    return current if current is not None and certificates.renewal_due(current) else None


@customer_required()
def home(request: HttpRequest) -> HttpResponse:
    warn = request.session.get(sessions.WARN_EXPIRY)
    return render(
        request,
        "corpbank/home.html",
        {
            "title": _("トップページ"),
            "expiry": datetime.fromisoformat(warn) if warn else None,
            "last_logins": authentication_selectors.login_history(request.customer, limit=3),  # type: ignore[attr-defined]
            "accounts": organization_selectors.contract_accounts(request.customer.contract_id),  # type: ignore[attr-defined]
            "certificate_renewal": _renewal_due(request.customer),  # type: ignore[attr-defined]
        },
    )
