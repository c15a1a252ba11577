"""The back office as a site of its own: where it answers, and its own cookies (issue 12 item 7).

- Where: its paths are ``/backoffice/`` (screens) and ``/api/v1/backoffice/`` (API). With
  CORPBANK_BACKOFFICE_HOST set it answers on that host name only, and that host serves nothing else;
  the customers' host name then answers 404 for the back office's paths. With
  CORPBANK_BACKOFFICE_NETWORKS set, it answers only clients from those networks (the client's address
  as ``sessions.client_ip`` sees it: the peer, or X-Real-IP from a trusted proxy). Anything else is
  a 404, which tells an outsider nothing. docs/operations.md and docs/nginx/corpbank.conf show the
  internal server block in front of it.
- Cookies: a back-office request reads and writes its session in ``corpbank_bo_session`` and its CSRF
  secret in ``corpbank_bo_csrftoken``, both with the Path of the back office's prefix, never the
  customers' ``sessionid`` and ``csrftoken``. Django's own session and CSRF middleware run unchanged:
  for a back-office request this middleware shows them the back office's cookies under the standard
  names, and renames what they set on the response. So the customers' session never reaches a
  back-office view, nor the back office's a customer's page (``sessions.load`` also reads only the
  kind of person its site signs in)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from http.cookies import Morsel

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.http.request import split_domain_port

from corpbank.web import sessions

PREFIXES = ("/backoffice/", "/api/v1/backoffice/")
SESSION_COOKIE = "corpbank_bo_session"
CSRF_COOKIE = "corpbank_bo_csrftoken"


def prefix_of(path: str) -> str:
    """The back office's prefix ``path`` lies under, or ""."""
    return next((prefix for prefix in PREFIXES if path.startswith(prefix)), "")


def is_backoffice(request: HttpRequest) -> bool:
    return bool(getattr(request, sessions.BACKOFFICE, ""))


def _host_name(request: HttpRequest) -> str:
    domain, _port = split_domain_port(request.get_host())  # validated against ALLOWED_HOSTS
    return domain


def _from_internal_network(request: HttpRequest) -> bool:
    networks = settings.CORPBANK_BACKOFFICE_NETWORKS
    if not networks:
        return True
    try:
        client = ipaddress.ip_address(sessions.client_ip(request))
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(network, strict=False) for network in networks)


def _cookies() -> tuple[tuple[str, str], ...]:
    """(the customers' cookie, the back office's) for the session and the CSRF secret."""
    return ((settings.SESSION_COOKIE_NAME, SESSION_COOKIE), (settings.CSRF_COOKIE_NAME, CSRF_COOKIE))


def _renamed(morsel: Morsel[str], name: str, path: str) -> Morsel[str]:
    renamed: Morsel[str] = Morsel()
    renamed.set(name, morsel.value, morsel.coded_value)
    renamed.update(morsel)
    renamed["path"] = path
    return renamed


class BackofficeSiteMiddleware:
    """Before Django's session and CSRF middleware: routes a request to its site (or a 404) and gives
    the back office its own cookies."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        prefix = prefix_of(request.path_info)
        host = settings.CORPBANK_BACKOFFICE_HOST
        if host:
            on_backoffice_host = _host_name(request) == host.lower()
            if bool(prefix) != on_backoffice_host:
                # The back office's paths on the customers' host, or anything else on the back office's.
                raise Http404()
        if prefix and not _from_internal_network(request):
            raise Http404()
        setattr(request, sessions.BACKOFFICE, prefix)
        if not prefix:
            return self.get_response(request)
        # Django's middleware reads the standard names: show it the back office's cookies under them.
        cookies = {
            name: value
            for name, value in request.COOKIES.items()
            if name not in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)
        }
        for standard, own in _cookies():
            if own in request.COOKIES:
                cookies[standard] = request.COOKIES[own]
        request.COOKIES = cookies
        response = self.get_response(request)
        for standard, own in _cookies():
            morsel = response.cookies.pop(standard, None)
            if morsel is not None:
                response.cookies[own] = _renamed(morsel, own, prefix)
        return response
