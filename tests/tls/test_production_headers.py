"""``corpbank serve --tls`` with production's defaults (issue 12 item 8): HSTS with the subdomains, Secure
cookies, and nothing signed-in or from the API left in a cache."""

from __future__ import annotations

import http.client
import json
from http.cookies import SimpleCookie

import pytest

pytestmark = pytest.mark.tls


def exchange(tls_bank, method: str, path: str, cookies: dict[str, str], body: dict | None = None):  # type: ignore[no-untyped-def]
    connection = http.client.HTTPSConnection(
        tls_bank.host, tls_bank.port, context=tls_bank.context("master"), timeout=30
    )
    headers = {"Origin": tls_bank.url, "Referer": tls_bank.url + "/"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        headers["X-CSRFToken"] = cookies.get("csrftoken", "")
    payload = None
    if body is not None:
        payload, headers["Content-Type"] = json.dumps(body), "application/json"
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        response.read()
        set_cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            set_cookies.load(header)
        for name, morsel in set_cookies.items():
            cookies[name] = morsel.value
        return response, set_cookies
    finally:
        connection.close()


def test_https_carries_hsts_secure_cookies_and_no_store(tls_bank):
    cookies: dict[str, str] = {}
    page, set_cookies = exchange(tls_bank, "GET", "/login", cookies)
    assert page.status == 200
    assert page.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert "no-store" in page.headers["Cache-Control"]
    assert set_cookies["csrftoken"]["secure"]
    login, set_cookies = exchange(
        tls_bank, "POST", "/api/v1/auth/login", cookies, {"login_id": "", "password": tls_bank.password}
    )
    assert login.status == 200
    assert set_cookies["sessionid"]["secure"] and set_cookies["sessionid"]["httponly"]
    assert "no-store" in login.headers["Cache-Control"]
    me, _ = exchange(tls_bank, "GET", "/api/v1/me", cookies)
    assert me.status == 200 and "no-store" in me.headers["Cache-Control"]
