"""The JSON API under /api/v1/, schema at /api/v1/openapi.json.

Errors always have the shape ``{"error": {"code": ..., "message": ..., "fields": {...}}}``."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.operation import Operation
from ninja.parser import Parser

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
from corpbank.core.errors import DomainError, FactorInputFailed

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


def _without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _value in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key appears twice")
    return dict(pairs)


class StrictJsonParser(Parser):
    """A body is a UTF-8 JSON object, each object's keys once: ``{"amount": "1000", …, "amount": "2000"}``
    says two things about one amount, and ``json.loads`` would keep the second silently; a UTF-16
    body (which ``json.loads`` of bytes also reads) is not what the API takes. Either is a 400."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        # A UTF-8 byte-order mark is ignored, as RFC 8259 allows; every body here is an object.
        parsed = json.loads(request.body.decode("utf-8-sig"), object_pairs_hook=_without_repeats)
        if not isinstance(parsed, dict):
            raise ValueError("the body is not a JSON object")
        return parsed


api = CorpbankAPI(
    parser=StrictJsonParser(),
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


def _carries_factors(request: HttpRequest) -> bool:
    """Whether the request's body holds the operation's factors in a ``factors`` object (most do; the
    inquiry's PIN comes alone, at the top)."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("factors"), dict)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    fields = error.fields
    if isinstance(error, FactorInputFailed) and _carries_factors(request):  # named by their path
        fields = {f"factors.{name}": message for name, message in fields.items()}
    return error_response(request, error.http_status, error.code, error.message, fields)


# What the schema's own checks (pydantic's error types) say about a field, in the user's language.
_SCHEMA_MESSAGES = {
    "missing": gettext_lazy("入力してください（必須項目です）。"),
    "string_type": gettext_lazy("文字列で指定してください。"),
    "int_type": gettext_lazy("整数で指定してください。"),
    "int_parsing": gettext_lazy("整数で指定してください。"),
    "int_from_float": gettext_lazy("整数で指定してください。"),
    "bool_type": gettext_lazy("true または false で指定してください。"),
    "bool_parsing": gettext_lazy("true または false で指定してください。"),
    "list_type": gettext_lazy("配列で指定してください。"),
    "dict_type": gettext_lazy("オブジェクトで指定してください。"),
    "model_type": gettext_lazy("オブジェクトで指定してください。"),
    "model_attributes_type": gettext_lazy("オブジェクトで指定してください。"),
    "literal_error": gettext_lazy("指定できる値ではありません。"),
    "enum": gettext_lazy("指定できる値ではありません。"),
    "greater_than_equal": gettext_lazy("%(ge)s以上の値を指定してください。"),
    "greater_than": gettext_lazy("%(gt)sより大きい値を指定してください。"),
    "less_than_equal": gettext_lazy("%(le)s以下の値を指定してください。"),
    "less_than": gettext_lazy("%(lt)sより小さい値を指定してください。"),
    "string_too_long": gettext_lazy("%(max_length)s文字以内で指定してください。"),
    "string_too_short": gettext_lazy("%(min_length)s文字以上で指定してください。"),
    "too_long": gettext_lazy("%(max_length)s件以内で指定してください。"),
    "too_short": gettext_lazy("%(min_length)s件以上で指定してください。"),
    **dict.fromkeys(
        ("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"),
        gettext_lazy("日付を「2026-12-01」の形で、存在する日付を指定してください。"),
    ),
    **dict.fromkeys(
        ("datetime_type", "datetime_parsing", "datetime_from_date_parsing"),
        gettext_lazy("日時を「2026-12-01T09:00:00+09:00」の形で指定してください。"),
    ),
    "extra_forbidden": gettext_lazy("この項目は指定できません。"),
}


def schema_message(problem: dict[str, Any]) -> str:
    """A schema error (pydantic's) as the user reads it: by its type in the user's language, the
    limits it names filled in; anything else a plain 「形式が正しくありません」, never pydantic's
    English (the schemas have no validators of their own: the services check and word the rest)."""
    kind = str(problem.get("type", ""))
    message = _SCHEMA_MESSAGES.get(kind)
    if message is not None:
        context = {key: value for key, value in (problem.get("ctx") or {}).items() if key != "error"}
        try:
            return str(message) % context if "%(" in str(message) else str(message)
        except (KeyError, TypeError, ValueError):
            return _("形式が正しくありません。")
    return _("形式が正しくありません。")


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    fields = {}
    for problem in error.errors:
        location = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query", "path")]
        fields[".".join(location[1:] if location[:1] == ["body"] else location) or "body"] = schema_message(
            problem
        )
    return error_response(request, 422, "validation_failed", _("入力内容をご確認ください。"), fields)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "not_authenticated", _("ログインしてください。"))


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    """What ninja itself refuses: a body that is not JSON (400), a missing or wrong CSRF token (403)."""
    if error.status_code == 403:
        return error_response(
            request,
            403,
            "csrf_failed",
            _(
                "CSRFトークンがないか、正しくありません。csrftoken クッキーの値を X-CSRFToken ヘッダーで"
                "送ってください（画面では、ページを再読み込みしてからやり直してください）。"
            ),
        )
    if error.status_code == 400:
        return error_response(
            request,
            400,
            "http_error",
            _(
                "リクエストの本文を読み取れません。UTF-8 の JSON のオブジェクトで、"
                "同じ項目は一度だけ送ってください。"
            ),
        )
    return error_response(request, error.status_code, "http_error", _("リクエストを処理できませんでした。"))


@api.get("/csrf", auth=None, tags=["session"])
def csrf(request: HttpRequest) -> dict[str, str]:
    """Sets the `csrftoken` cookie and returns its value, for clients that start without a page."""
    return {"csrf_token": get_token(request)}


for module in CUSTOMER_ROUTERS + BANK_ROUTERS:
    api.add_router("/", module.router)
api.add_router("/backoffice", backoffice.router)
api.add_router("/backoffice", backoffice_money.router)
