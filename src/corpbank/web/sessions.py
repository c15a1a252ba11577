"""Sessions for customers and operators, shared by the web UI and the JSON API.

A session is bound to its principal's ``session_epoch``: bumping the epoch (password reset, suspension,
deletion) ends every open session at its next request. A customer's session is also bound to its
contract's ``session_epoch``, which 緊急停止 and 解約 bump: read with the user on every request, so that
stopping a contract locks no user's row, and a session started before a stop never comes back, not
even after 緊急停止の解除.
The key rotates at login (session fixation) and the session ends after the policy's inactivity (R-A5)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import rotate_token
from django.utils import timezone

from corpbank.authentication import risk
from corpbank.authentication.models import SecretQuestion
from corpbank.authentication.services import LoginOutcome
from corpbank.backoffice.models import Operator
from corpbank.core.policy import current_policy
from corpbank.identity.models import Principal
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations.models import Contract, CustomerUser

CUSTOMER = "corpbank.customer_user_id"
OPERATOR = "corpbank.operator_id"
EPOCH = "corpbank.epoch"
CONTRACT_EPOCH = "corpbank.contract_epoch"
LAST_SEEN = "corpbank.last_seen"
MUST_CHANGE = "corpbank.must_change"
WARN_EXPIRY = "corpbank.warn_expiry_until"
# When the login password must be changed by, as the login read it (GET /api/v1/me tells it without a
# query of its own).
PASSWORD_DUE = "corpbank.password_change_due_at"  # noqa: S105 - a session key
MUST_REGISTER_TOKEN = "corpbank.must_register_token"  # noqa: S105 - a session key
MUST_REGISTER_QUESTIONS = "corpbank.must_register_questions"
# The inquiry PIN was given in this session (R-G1, payments/inquiry.py): inquiries need it no more.
INQUIRY = "corpbank.inquiry_authorized"
# Orders between their input and their confirmation (振込振替, 振込先登録), by one-time token.
ORDERS = "corpbank.orders"
ORDERS_KEPT = 10
CHALLENGE = "corpbank.additional_auth"  # a login waiting for its answer (R-D2); not a session yet
DEVICE_ID = "corpbank_device_id"  # request attribute: set the environment cookie on the response
BACKOFFICE = "corpbank_backoffice"  # request attribute: the back office's prefix or "" (backoffice_site.py)
# How fresh the last activity a session records is: a request within this time of the recorded one
# writes nothing to the session (no UPDATE of its row, issue 13), so a session ends between the policy's
# inactivity minus this and the inactivity after its last request.
ACTIVITY_RESOLUTION = timedelta(seconds=15)


def client_ip(request: HttpRequest) -> str:
    """The client's address: the connection's peer, or, when the peer is one of the configured trusted
    proxies (CORPBANK_TRUSTED_PROXIES), the address its X-Real-IP header names. Audit events and the
    additional authentication's network both use it."""
    peer = str(request.META.get("REMOTE_ADDR", ""))[:45]
    if _trusted_proxy(peer):
        forwarded = str(request.META.get("HTTP_X_REAL_IP", "")).strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            return peer
    return peer


def client_certificate(request: HttpRequest) -> bytes | None:
    """The client certificate (DER) the TLS connection presented, or None.

    Two deployments (docs/operations.md): ``corpbank serve --tls`` terminates TLS in gunicorn, whose
    socket hands over the peer certificate the handshake verified against the bank's CA; behind nginx,
    nginx verifies it and forwards it in the RFC 9440 ``Client-Cert`` header, which is believed only
    from CORPBANK_TRUSTED_PROXIES. Either way the application checks it again (certificates.verify)."""
    connection = request.META.get("gunicorn.socket")
    getpeercert = getattr(connection, "getpeercert", None)
    if getpeercert is not None:
        der = getpeercert(binary_form=True)
        if der:
            return bytes(der)
    header = str(request.META.get("HTTP_CLIENT_CERT", "")).strip()
    if header and _trusted_proxy(str(request.META.get("REMOTE_ADDR", ""))):
        if len(header) > 2 and header[0] == header[-1] == ":":
            try:
                return base64.b64decode(header[1:-1], validate=True)
            except binascii.Error:
                return None
    return None


def from_trusted_proxy(request: HttpRequest) -> bool:
    return _trusted_proxy(str(request.META.get("REMOTE_ADDR", "")))


def _trusted_proxy(address: str) -> bool:
    if not settings.CORPBANK_TRUSTED_PROXIES:
        return False
    try:
        peer = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(peer in ipaddress.ip_network(item, strict=False) for item in settings.CORPBANK_TRUSTED_PROXIES)


def signed_in(request: HttpRequest) -> list[object] | None:
    """Who the request is signed in as, JSON-able: ["customer", id], ["operator", id], or None
    (after AuthenticationMiddleware has loaded the session)."""
    customer, operator = getattr(request, "customer", None), getattr(request, "operator", None)
    if customer is not None:
        return ["customer", customer.pk]
    if operator is not None:
        return ["operator", operator.pk]
    return None


def _fresh(request: HttpRequest) -> None:
    """A new session key and a new CSRF token, nothing carried over from before login."""
    request.session.flush()
    rotate_token(request)


def environment(request: HttpRequest) -> risk.Environment:
    """What the bank sees of the browser, for the additional authentication (R-D2)."""
    return risk.Environment.of(
        user_agent=str(request.META.get("HTTP_USER_AGENT", "")),
        accept_language=str(request.META.get("HTTP_ACCEPT_LANGUAGE", "")),
        ip_address=client_ip(request),
        device_cookie=request.COOKIES.get(risk.DEVICE_COOKIE, ""),
    )


def remember_device(request: HttpRequest, device_id: str) -> None:
    """The response carries the environment cookie (AuthenticationMiddleware sets it)."""
    if device_id:
        setattr(request, DEVICE_ID, device_id)


def await_step(request: HttpRequest, key: str, **state: object) -> None:
    """A step that waits for the next one (an answer, a code), remembered under ``key`` with the time
    it began: not a session of anyone, and over after the policy's inactivity period."""
    request.session[key] = {**state, "since": timezone.now().isoformat()}


def pending_step(request: HttpRequest, key: str) -> dict[str, Any] | None:
    """What ``await_step`` remembered under ``key``, or None: never begun, done, or timed out (then
    forgotten)."""
    waiting = request.session.get(key)
    if not isinstance(waiting, dict):
        return None
    if timezone.now() - datetime.fromisoformat(waiting["since"]) > current_policy().session_inactivity:
        request.session.pop(key, None)
        return None
    return waiting


def await_answer(request: HttpRequest, outcome: LoginOutcome) -> None:
    """The password was right but the environment is not recognised: no session yet, only the
    question to answer, for the policy's inactivity period."""
    if outcome.challenge is None:
        raise ValueError("a login without a challenge starts a session")
    _fresh(request)
    await_step(request, CHALLENGE, user=outcome.user.pk, position=outcome.challenge.position)


def challenge(request: HttpRequest) -> tuple[int, int, str] | None:
    """(user id, question position, question) of the login waiting for its answer, or None."""
    waiting = pending_step(request, CHALLENGE)
    if waiting is None:
        return None
    question = (
        SecretQuestion.objects.filter(user_id=waiting["user"], position=waiting["position"])
        .values_list("question", flat=True)
        .first()
    )
    return (waiting["user"], waiting["position"], question) if question else None


def start_customer_session(request: HttpRequest, outcome: LoginOutcome) -> None:
    _fresh(request)
    user = outcome.user
    request.session[CUSTOMER] = user.pk
    request.session[EPOCH] = outcome.session_epoch
    request.session[CONTRACT_EPOCH] = user.contract.session_epoch
    request.session[LAST_SEEN] = timezone.now().isoformat()
    request.session[MUST_CHANGE] = list(outcome.must_change)
    request.session[MUST_REGISTER_TOKEN] = outcome.must_register_token
    request.session[MUST_REGISTER_QUESTIONS] = outcome.must_register_questions
    remember_device(request, outcome.device_id)
    if outcome.warn_expiry and outcome.password_change_due_at:
        request.session[WARN_EXPIRY] = outcome.password_change_due_at.isoformat()
    if outcome.password_change_due_at is not None:
        request.session[PASSWORD_DUE] = outcome.password_change_due_at.isoformat()


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


# Set on a request whose session the bank ended meanwhile (a lockout or 利用停止, the user deleted or
# stopped, the contract stopped, every session of the user ended by the master's パスワード再設定 or the
# bank's initialization): the person is told rather than silently sent to the login.
SESSION_ENDED = "corpbank_session_ended"


def load(request: HttpRequest) -> tuple[CustomerUser | None, Operator | None, bool]:
    """(customer, operator, timed_out) for the request; ends a stale or superseded session."""
    session = request.session
    customer_id, operator_id = session.get(CUSTOMER), session.get(OPERATOR)
    # Each site signs in its own kind of person (web/backoffice_site.py): a session of the other kind,
    # whatever cookie brought it, signs in nobody here.
    if getattr(request, BACKOFFICE, ""):
        customer_id = None
    else:
        operator_id = None
    if customer_id is None and operator_id is None:
        return None, None, False
    now = timezone.now()
    if _expired(request, now):
        session.flush()
        return None, None, True
    customer: CustomerUser | None = None
    operator: Operator | None = None
    if customer_id is not None:
        customer = organization_selectors.active_customer(customer_id)
        principal = customer.principal if customer else None
    elif operator_id is not None:
        operator = Operator.objects.select_related("principal").filter(pk=operator_id, is_active=True).first()
        principal = operator.principal if operator else None
    if (
        principal is None
        or principal.session_epoch != session.get(EPOCH)
        or principal.is_suspended
        or (
            customer is not None
            and (
                customer.contract.status != Contract.Status.ACTIVE
                or customer.contract.session_epoch != session.get(CONTRACT_EPOCH, 0)
            )
        )
    ):
        session.flush()
        setattr(request, SESSION_ENDED, True)  # told on the next page (web/middleware.py)
        return None, None, False
    if now - datetime.fromisoformat(session[LAST_SEEN]) >= ACTIVITY_RESOLUTION:
        session[LAST_SEEN] = now.isoformat()  # the one write a request makes to its session
    return customer, operator, False


def inquiry_authorized(request: HttpRequest) -> bool:
    return bool(request.session.get(INQUIRY))


def authorize_inquiry(request: HttpRequest) -> None:
    request.session[INQUIRY] = True


def keep_order(request: HttpRequest, kind: str, typed: dict[str, str]) -> str:
    """Keep what was typed on an order's input screen until its confirmation; the token names it in the
    confirmation's address and is the order's idempotency key, so that a double click, a reload or the
    back button then 確定 again never orders twice. The session keeps the last ORDERS_KEPT."""
    token = secrets.token_urlsafe(18)
    kept = dict(request.session.get(ORDERS, {}))
    kept[token] = {"kind": kind, "typed": typed}
    request.session[ORDERS] = dict(list(kept.items())[-ORDERS_KEPT:])
    return token


def show_order(request: HttpRequest, token: str, shown: str) -> None:
    """Remember what the order's confirmation showed (its quote's fingerprint), for its 確定 to hold
    the order to it."""
    kept = dict(request.session.get(ORDERS, {}))
    if token in kept and kept[token].get("shown") != shown:
        kept[token] = {**kept[token], "shown": shown}
        request.session[ORDERS] = kept


def shown_order(request: HttpRequest, token: str) -> str:
    return str(request.session.get(ORDERS, {}).get(token, {}).get("shown", ""))


def kept_order(request: HttpRequest, kind: str, token: str) -> dict[str, str] | None:
    found = request.session.get(ORDERS, {}).get(token)
    if not found or found.get("kind") != kind:
        return None
    return dict(found["typed"])


def must_change(request: HttpRequest) -> list[str]:
    return list(request.session.get(MUST_CHANGE, []))


def passwords_changed(request: HttpRequest, due_at: datetime | None = None) -> None:
    """The holder changed their own passwords: this session goes on without the forced change, and
    with the new login password's due date (``due_at``) when it changed."""
    request.session[MUST_CHANGE] = []
    request.session.pop(WARN_EXPIRY, None)
    if due_at is not None:
        request.session[PASSWORD_DUE] = due_at.isoformat()


def password_change_due_at(request: HttpRequest) -> datetime | None:
    """The login password's due date as this session knows it (the login's, or the last change's)."""
    due = request.session.get(PASSWORD_DUE)
    return datetime.fromisoformat(due) if due else None


def must_register_token(request: HttpRequest) -> bool:
    return bool(request.session.get(MUST_REGISTER_TOKEN))


def token_registered(request: HttpRequest) -> None:
    request.session[MUST_REGISTER_TOKEN] = False


def must_register_questions(request: HttpRequest) -> bool:
    return bool(request.session.get(MUST_REGISTER_QUESTIONS))


def questions_registered(request: HttpRequest, device_id: str) -> None:
    request.session[MUST_REGISTER_QUESTIONS] = False
    remember_device(request, device_id)


def required_page(request: HttpRequest, customer: CustomerUser) -> str | None:
    """What the user must do before anything else, in order: replace passwords (R-B6), register the
    secret questions (R-D1), register a token (R-E7, R-E9). None when nothing is pending."""
    if must_change(request):
        return "password"
    if must_register_questions(request):
        return "secret_questions"
    if must_register_token(request):
        return token_page(customer)
    return None


def token_page(customer: CustomerUser) -> str:
    """Where a user without a usable token goes: the software-token menu (ワンタイムパスワード申請) on a
    contract with software tokens, else the hardware token's registration screen (R-E7, R-E9)."""
    return "otp_application" if customer.contract.software_tokens else "token_registration"
