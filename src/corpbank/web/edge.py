"""The edge guard: text that no input may hold is refused here, once, for every request, before a view,
a service or the database sees it (core/text.py says which characters: NUL, the other C0 control
characters but tab, line feed and carriage return, lone surrogates).

PostgreSQL cannot store NUL in text and fails the statement; a lone surrogate (``"\\ud800"`` in JSON)
cannot be encoded for either database. Rather than teach every field of every form and endpoint, the
middleware runs right after Django's SecurityMiddleware and looks at everything a request carries as
text: the path, the query string, the headers, urlencoded and multipart form fields (names, values and
file names), and JSON bodies (every key and string value, at any depth). Under ``/api/`` it answers
422 with the API's one error shape and the code ``invalid_characters``; elsewhere a 422 page in the
site's layout that names the inputs and offers the way back. A body that is not valid JSON is left to
the API, which refuses it itself. A cookie holding such a character is dropped, not refused: a browser
would otherwise be stuck with it (the session cookie then simply names no session).

Percent-encoded bytes that are not UTF-8 need nothing here: Django keeps them percent-encoded in the
path and makes them U+FFFD in the query string and in form fields, which every database stores.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from corpbank.core.text import InvalidCharacters, shown, unreadable

API_PREFIX = "/api/"
BACKOFFICE_PREFIX = "/backoffice/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# A request full of bad characters is named by its first few inputs; the rest add nothing.
MAX_NAMED = 20


class EdgeGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name in [name for name, value in request.COOKIES.items() if unreadable(name + value)]:
            del request.COOKIES[name]
        refused: list[str] = []
        for field in unreadable_inputs(request):
            if field not in refused:
                refused.append(field)
            if len(refused) == MAX_NAMED:
                break
        if refused:
            return refusal(request, refused)
        return self.get_response(request)


def unreadable_inputs(request: HttpRequest) -> Iterator[str]:
    """The name of each input of the request that holds a character no input may hold."""
    if unreadable(request.path_info):
        yield "path"
    yield from _in_pairs(request.GET.lists())
    for key, value in request.META.items():
        # The cookie header is left to the cookies (dropped, above); WSGI's own keys are not input.
        if key.startswith("HTTP_") and key != "HTTP_COOKIE" and isinstance(value, str) and unreadable(value):
            yield "header " + key[5:].replace("_", "-").title()
    content_type = request.content_type or ""
    if content_type in FORM_TYPES:
        if request.method == "POST":  # Django parses form bodies of POST only
            yield from _in_pairs(request.POST.lists())
            for name, files in request.FILES.lists():
                if unreadable(name) or any(unreadable(upload.name or "") for upload in files):
                    yield shown(name)
        elif content_type == FORM_TYPES[0]:
            yield from _in_pairs(QueryDict(request.body, encoding=request.encoding).lists())
    elif request.path_info.startswith(API_PREFIX) or content_type.endswith("json"):
        # django-ninja reads any body of an endpoint that takes one as JSON, whatever its type.
        body = request.body
        if body:
            try:
                data = json.loads(body)
            except (ValueError, RecursionError):
                return  # not JSON: the API refuses it itself
            yield from _in_json(data)


def _in_pairs(pairs: Iterable[tuple[str, list[str]]]) -> Iterator[str]:
    for name, values in pairs:
        if unreadable(name) or any(unreadable(value) for value in values):
            yield shown(name)


def _in_json(data: Any) -> Iterator[str]:
    """Walk a JSON document breadth first, without recursion (a document may be nested deeply), naming
    each bad key or string value by its path as the API names fields: ``accounts.0.number``."""
    queue: collections.deque[tuple[str, Any]] = collections.deque([("", data)])
    while queue:
        path, value = queue.popleft()
        if isinstance(value, str):
            if unreadable(value):
                yield path or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{shown(key)}" if path else shown(key)
                if unreadable(key):
                    yield name
                queue.append((name, item))
        elif isinstance(value, list):
            queue.extend(
                (f"{path}.{index}" if path else str(index), item) for index, item in enumerate(value)
            )


class _ShownRequest:
    """The request as the layout shows it: the language switch comes back to the way back, never to the
    refused address."""

    def __init__(self, back: str) -> None:
        self.back = back

    def get_full_path(self) -> str:
        return self.back


def refusal(request: HttpRequest, fields: list[str]) -> HttpResponse:
    """422, in the language the request asks for (the language middleware has not run yet)."""
    with translation.override(translation.get_language_from_request(request)):
        error = InvalidCharacters(fields)
        if request.path_info.startswith(API_PREFIX):
            body = {"error": {"code": error.code, "message": error.message, "fields": error.fields}}
            return JsonResponse(body, status=error.http_status)
        back = way_back(request)
        backoffice = request.path_info.startswith(BACKOFFICE_PREFIX)
        page = render_to_string(
            "corpbank/unreadable.html",
            {
                "layout": "corpbank/backoffice/base.html" if backoffice else "corpbank/base.html",
                "title": _("使用できない文字が含まれています"),
                "message": error.message,
                "inputs": [_input_label(field) for field in fields],
                "back": back,
                "request": _ShownRequest(back),
            },
            request=request,
        )
    return HttpResponse(page, status=error.http_status)


def _input_label(field: str) -> str:
    if field == "path":
        return _("アドレス（URL）")
    return field


def way_back(request: HttpRequest) -> str:
    """The page the person came from, when it is this site's and readable; else the area's top page."""
    referer = str(request.META.get("HTTP_REFERER", ""))
    try:
        host = request.get_host()
    except DisallowedHost:
        host = ""
    if referer and not unreadable(referer) and url_has_allowed_host_and_scheme(referer, allowed_hosts={host}):
        return referer
    return reverse("backoffice:home" if request.path_info.startswith(BACKOFFICE_PREFIX) else "home")
