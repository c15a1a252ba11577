"""Session-cookie authentication for the API, with Django's CSRF check on every unsafe method.

The sessions are the web UI's (corpbank.web.sessions): one login serves both."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie

from corpbank.core.errors import DomainError, Forbidden, SecretQuestionsRequired, TokenRegistrationRequired
from corpbank.web import sessions


class PasswordChangeRequired(DomainError):
    code = "password_change_required"
    http_status = 403


class SessionTimedOut(DomainError):
    """The session ended for inactivity (R-A5): 401 like no session, with the reason."""

    code = "session_timed_out"
    http_status = 401


def _timed_out(request: HttpRequest) -> None:
    if getattr(request, "session_timed_out", False):
        raise SessionTimedOut(_("一定時間操作がなかったため、ログアウトしました。再度ログインしてください。"))


class CustomerSession(APIKeyCookie):
    param_name = settings.SESSION_COOKIE_NAME

    def __init__(
        self,
        *,
        master_only: bool = False,
        allow_pending_change: bool = False,
        allow_pending_questions: bool = False,
        allow_pending_token: bool = False,
    ) -> None:
        super().__init__(csrf=True)
        self.master_only = master_only
        self.allow_pending_change = allow_pending_change
        self.allow_pending_questions = allow_pending_questions
        self.allow_pending_token = allow_pending_token

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        """The customer of the session; what must be done first (sessions.required_page) refuses the
        rest with its own error code, as the web UI redirects to it."""
        customer = getattr(request, "customer", None)
        if customer is None:
            _timed_out(request)
            return None
        required = sessions.required_page(request, customer)
        if required is not None and not self.allow_pending_change:
            if required == "password":
                raise PasswordChangeRequired(_("パスワードを変更してください。"))
            if required == "secret_questions" and not self.allow_pending_questions:
                raise SecretQuestionsRequired(_("追加認証の合言葉を登録してください。"))
            if required == sessions.token_page(customer) and not self.allow_pending_token:
                raise TokenRegistrationRequired(_("ワンタイムパスワードの利用登録を行ってください。"))
        if self.master_only and not customer.is_master:
            raise Forbidden(_("この機能はマスターユーザのみご利用いただけます。"))
        return customer


class OperatorSession(APIKeyCookie):
    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        operator = getattr(request, "operator", None)
        if operator is None:
            _timed_out(request)
        return operator


class CsrfOnly(APIKeyCookie):
    """For the endpoints used before login (login, first registration): no session, but CSRF still."""

    param_name = settings.CSRF_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return True


customer = CustomerSession()
customer_pending_change_allowed = CustomerSession(allow_pending_change=True)
customer_pending_token_allowed = CustomerSession(allow_pending_token=True)
customer_pending_questions_allowed = CustomerSession(allow_pending_questions=True)
master = CustomerSession(master_only=True)
operator = OperatorSession()
anonymous = CsrfOnly()
