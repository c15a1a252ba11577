from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from corpbank.authentication import risk
from corpbank.web import drafts, sessions

API_PREFIX = "/api/"


class NoStoreMiddleware:
    """``Cache-Control: no-store`` (and ``Pragma: no-cache`` for HTTP/1.0 proxies) on every response of
    a signed-in request, customer or operator, and on every other response whose view did not declare
    its own caching: the login pages, every API response (a software token's seed, an initial password,
    session data), the forms before login. Nothing of a signed-in page stays in the browser's cache, so
    its back button after logout asks the server again, which sends the login page. A public asset
    keeps the caching its view declared (the CA's certificate and CRL) when nobody is signed in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        declared = response.get("Cache-Control", "")
        if "no-store" in declared:
            response["Pragma"] = "no-cache"
        elif sessions.signed_in(request) is not None or not declared:
            add_never_cache_headers(response)
            response["Pragma"] = "no-cache"
        return response


class AuthenticationMiddleware:
    """Puts ``request.customer`` and ``request.operator`` on every request (or None), and the
    environment cookie on a response whose request recognised the environment.

    A session that ended for inactivity says so on the next page (R-A5), and the API answers
    ``session_timed_out`` (api/security.py); what was typed into a form it sent is kept for the same
    person's next session (web/drafts.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        owner, draft = drafts.owner_of(request.session), request.session.get(drafts.DRAFT)
        customer, operator, timed_out = sessions.load(request)
        request.customer = customer  # type: ignore[attr-defined]
        request.operator = operator  # type: ignore[attr-defined]
        request.session_timed_out = timed_out  # type: ignore[attr-defined]
        # Whose session ended: a form sent to a page that needs a login keeps its non-secret fields
        # for them (pages.to_login).
        request.timed_out_owner = owner if timed_out else None  # type: ignore[attr-defined]
        if timed_out and not request.path_info.startswith(API_PREFIX):
            messages.error(
                request, _("一定時間操作がなかったため、ログアウトしました。再度ログインしてください。")
            )
        elif getattr(request, sessions.SESSION_ENDED, False) and not request.path_info.startswith(API_PREFIX):
            messages.error(
                request,
                _(
                    "ロックアウト・利用停止、パスワードの再設定などのため、ログアウトしました。"
                    "再度ログインしてください。"
                ),
            )
        response = self.get_response(request)
        if customer is None and operator is None:
            drafts.carry_over(request, draft)
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


# What an API client is told, in the API's one error shape, for an answer that came from below the
# API (Django's URL resolver, ninja's method check, the 500 handler): never an HTML page.
_API_ERRORS = {
    404: ("not_found", gettext_lazy("指定されたAPIはありません。URLをご確認ください。")),
    405: (
        "method_not_allowed",
        gettext_lazy(
            "このAPIはこのメソッドではご利用いただけません（ご利用いただけるメソッド：%(allowed)s）。"
        ),
    ),
    500: (
        "server_error",
        gettext_lazy("ただいまお取り扱いできません。しばらくしてから、もう一度お試しください。"),
    ),
}


class ApiErrorShapeMiddleware:
    """Under ``/api/``, an error answer that is not JSON (an unknown path, a method the endpoint does
    not take, a server error) becomes the API's error shape ``{"error": {"code", "message",
    "fields"}}`` in the request's language, with its status (and a 405's ``Allow``) kept. Placed
    outermost but for SecurityMiddleware, so that it sees every such answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not request.path_info.startswith(API_PREFIX)
            or response.status_code < 400
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        code, message = _API_ERRORS.get(
            response.status_code, ("http_error", gettext_lazy("リクエストを処理できませんでした。"))
        )
        with translation.override(translation.get_language_from_request(request)):
            text = str(message)
            if response.status_code == 405:
                text %= {"allowed": response.get("Allow", "")}
        shaped = JsonResponse(
            {"error": {"code": code, "message": text, "fields": {}}},
            status=response.status_code,
            json_dumps_params={"ensure_ascii": False},
        )
        # Everything else the answer carried stays: Allow, caching, Vary, and its cookies (a session
        # the bank ended is deleted in the browser by the same answer).
        for header, value in response.items():
            if header.lower() not in ("content-type", "content-length"):
                shaped[header] = value
        shaped.cookies = response.cookies
        return shaped
