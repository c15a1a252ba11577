"""The JSON API under /api/v1/, schema at /api/v1/openapi.json.

Errors always have the shape ``{"error": {"code": ..., "message": ..., "fields": {...}}}``."""

from __future__ import annotations

from types import ModuleType

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.operation import Operation

from corpbank.api import (
    authentication,
    backoffice,
    backoffice_money,
    calendar,
    certificates,
    organizations,
    payments,
    tokens,
    transfers,
)
from corpbank.core.errors import DomainError

CUSTOMER_ROUTERS: tuple[ModuleType, ...] = (
    authentication,
    organizations,
    tokens,
    certificates,
    payments,
    transfers,
)
# The public reads of the bank itself (its calendar), beside the customer's.
BANK_ROUTERS: tuple[ModuleType, ...] = (calendar,)


class CorpbankAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        """Operation ids are part of the published schema (generated clients name their methods after
        them). They were minted while every customer endpoint lived in one module,
        ``corpbank.api.customer``; the customer's routers keep that prefix so that clients are not broken."""
        if operation.view_func.__module__ in {module.__name__ for module in CUSTOMER_ROUTERS}:
            return f"corpbank_api_customer_{operation.view_func.__name__}"
        return super().get_openapi_operation_id(operation)


api = CorpbankAPI(
    title="corpbank API",
    version="1",
    description=(
        "団体向けインターネットバンキング. Session-cookie authentication: log in, keep the `sessionid` "
        "cookie, and send the `csrftoken` cookie's value as the `X-CSRFToken` header on every POST/PUT."
    ),
    urls_namespace="api",
)


def error_response(
    request: HttpRequest, status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status
    )


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return error_response(request, error.http_status, error.code, error.message, error.fields)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    fields = {}
    for problem in error.errors:
        location = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query", "path")]
        fields[".".join(location[1:] if location[:1] == ["body"] else location) or "body"] = str(
            problem.get("msg")
        )
    return error_response(request, 422, "validation_failed", _("入力内容をご確認ください。"), fields)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "not_authenticated", _("ログインしてください。"))


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    code = "csrf_failed" if error.status_code == 403 else "http_error"
    return error_response(request, error.status_code, code, str(error))


@api.get("/csrf", auth=None, tags=["session"])
def csrf(request: HttpRequest) -> dict[str, str]:
    """Sets the `csrftoken` cookie and returns its value, for clients that start without a page."""
    return {"csrf_token": get_token(request)}


for module in CUSTOMER_ROUTERS + BANK_ROUTERS:
    api.add_router("/", module.router)
api.add_router("/backoffice", backoffice.router)
api.add_router("/backoffice", backoffice_money.router)
