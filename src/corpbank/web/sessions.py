"""Sessions for customers and operators, shared by the web UI and the JSON API.

A session is bound to its principal's ``session_epoch``: bumping the epoch (password reset, suspension,
emergency stop, deletion) ends every open session at its next request. The key rotates at login
(session fixation) and the session ends after the policy's inactivity (R-A5)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.middleware.csrf import rotate_token
from django.utils import timezone

from corpbank.models import CustomerUser, Operator, Principal
from corpbank.policy import current_policy
from corpbank.services.authentication import LoginOutcome

CUSTOMER = "corpbank.customer_user_id"
OPERATOR = "corpbank.operator_id"
EPOCH = "corpbank.epoch"
LAST_SEEN = "corpbank.last_seen"
MUST_CHANGE = "corpbank.must_change"
WARN_EXPIRY = "corpbank.warn_expiry_until"
MUST_REGISTER_TOKEN = "corpbank.must_register_token"  # noqa: S105 - a session key


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is believed nowhere unless a trusted proxy sets REMOTE_ADDR.
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


def _fresh(request: HttpRequest) -> None:
    """A new session key and a new CSRF token, nothing carried over from before login."""
    request.session.flush()
    rotate_token(request)


def start_customer_session(request: HttpRequest, outcome: LoginOutcome) -> None:
    _fresh(request)
    user = outcome.user
    request.session[CUSTOMER] = user.pk
    request.session[EPOCH] = outcome.session_epoch
    request.session[LAST_SEEN] = timezone.now().isoformat()
    request.session[MUST_CHANGE] = list(outcome.must_change)
    request.session[MUST_REGISTER_TOKEN] = outcome.must_register_token
    if outcome.warn_expiry and outcome.password_change_due_at:
        request.session[WARN_EXPIRY] = outcome.password_change_due_at.isoformat()


def start_operator_session(request: HttpRequest, operator: Operator) -> None:
    _fresh(request)
    request.session[OPERATOR] = operator.pk
    request.session[EPOCH] = Principal.objects.values_list("session_epoch", flat=True).get(
        pk=operator.principal_id
    )
    request.session[LAST_SEEN] = timezone.now().isoformat()


def end_session(request: HttpRequest) -> None:
    request.session.flush()


def _expired(request: HttpRequest, now: datetime) -> bool:
    last_seen = request.session.get(LAST_SEEN)
    if not last_seen:
        return True
    return now - datetime.fromisoformat(last_seen) > current_policy().session_inactivity


def load(request: HttpRequest) -> tuple[CustomerUser | None, Operator | None, bool]:
    """(customer, operator, timed_out) for the request; ends a stale or superseded session."""
    session = request.session
    customer_id, operator_id = session.get(CUSTOMER), session.get(OPERATOR)
    if customer_id is None and operator_id is None:
        return None, None, False
    now = timezone.now()
    if _expired(request, now):
        session.flush()
        return None, None, True
    customer: CustomerUser | None = None
    operator: Operator | None = None
    if customer_id is not None:
        customer = (
            CustomerUser.objects.select_related("contract", "contract__organization", "principal")
            .filter(pk=customer_id, status=CustomerUser.Status.ACTIVE)
            .first()
        )
        principal = customer.principal if customer else None
    elif operator_id is not None:
        operator = Operator.objects.select_related("principal").filter(pk=operator_id, is_active=True).first()
        principal = operator.principal if operator else None
    if principal is None or principal.session_epoch != session.get(EPOCH) or principal.is_suspended:
        session.flush()
        return None, None, False
    session[LAST_SEEN] = now.isoformat()
    return customer, operator, False


def must_change(request: HttpRequest) -> list[str]:
    return list(request.session.get(MUST_CHANGE, []))


def passwords_changed(request: HttpRequest) -> None:
    """The holder changed their own passwords: this session goes on without the forced change."""
    request.session[MUST_CHANGE] = []
    request.session.pop(WARN_EXPIRY, None)


def must_register_token(request: HttpRequest) -> bool:
    return bool(request.session.get(MUST_REGISTER_TOKEN))


def token_registered(request: HttpRequest) -> None:
    request.session[MUST_REGISTER_TOKEN] = False


def token_page(customer: CustomerUser) -> str:
    """Where a user without a usable token goes: the software-token menu (ワンタイムパスワード申請) on a
    contract with software tokens, else the hardware token's registration screen (R-E7, R-E9)."""
    return "otp_application" if customer.contract.software_tokens else "token_registration"
