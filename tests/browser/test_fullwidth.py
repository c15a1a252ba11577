"""Issue 12 item 1 in a real Chromium against the production server: a person with the IME on types
the login ID and then the token's serial number and code in full-width characters, and all of it is
taken (R-B1, R-E7)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_flows import log_in
from tests.browser.test_otp_flows import code_of, organization

pytestmark = pytest.mark.browser


def full_width(value: str) -> str:
    """What the IME types: every printable ASCII character as its full-width form (U+FF01–U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)


def test_issue_12_full_width_login_id_serial_and_code_at_the_otp_registration(new_page, server_env):
    org = organization(server_env, "zenkaku01", hardware_tokens=2)
    serial, seed = list(org["tokens"].items())[1]  # shipped, not yet registered
    page = new_page()
    log_in(page, "　" + full_width(org["login_id"]), org["password"])
    page.wait_for_selector("#login-id")
    page.goto("/settings/otp/register")
    page.fill("#id_serial", full_width(serial.lower()))
    page.fill("#id_otp", full_width(code_of(seed)))
    page.click("main button[type=submit]")
    page.wait_for_selector("text=ワンタイムパスワードの利用登録が完了しました")
    screenshot(page, "fullwidth-otp-registered")
