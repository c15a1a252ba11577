from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from corpbank.authentication import risk
from corpbank.web import sessions


class AuthenticationMiddleware:
    """Puts ``request.customer`` and ``request.operator`` on every request (or None), and the
    environment cookie on a response whose request recognised the environment."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        customer, operator, timed_out = sessions.load(request)
        request.customer = customer  # type: ignore[attr-defined]
        request.operator = operator  # type: ignore[attr-defined]
        request.session_timed_out = timed_out  # type: ignore[attr-defined]
        response = self.get_response(request)
        device_id = getattr(request, sessions.DEVICE_ID, "")
        if device_id:
            # The environment cookie of the additional authentication (R-D2): long-lived, signed,
            # HttpOnly, Secure under HTTPS.
            response.set_cookie(
                risk.DEVICE_COOKIE,
                risk.device_cookie_value(device_id),
                max_age=int(risk.DEVICE_COOKIE_MAX_AGE.total_seconds()),
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
