from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from corpbank.web import sessions


class AuthenticationMiddleware:
    """Puts ``request.customer`` and ``request.operator`` on every request (or None)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        customer, operator, timed_out = sessions.load(request)
        request.customer = customer  # type: ignore[attr-defined]
        request.operator = operator  # type: ignore[attr-defined]
        request.session_timed_out = timed_out  # type: ignore[attr-defined]
        return self.get_response(request)
