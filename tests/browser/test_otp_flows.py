"""One-time passwords in a real Chromium against the production server (R-E7, R-E9, R-E11): a master
revokes a token and registers a new one after the delay; a software token from トークン発行 to
サービス利用中, with the mail through SMTP and the reference phone app over HTTP. Each test builds
its own organization in the server's database (seeding.py); the clock is moved, never slept on."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpbank.tokens import otp
from tests.browser.conftest import screenshot
from tests.browser.test_flows import log_in
from tests.servers import server_shell

pytestmark = pytest.mark.browser


def organization(server_env: dict[str, str], login_id: str, **options: object) -> dict:
    arguments = ", ".join(f"{name}={value!r}" for name, value in options.items())
    output = server_shell(
        server_env,
        f"from tests.browser.seeding import organization; organization({login_id!r}, {arguments})",
    )
    return dict(json.loads(output.strip().splitlines()[-1]))


def code_of(seed_hex: str) -> str:
    return otp.totp(bytes.fromhex(seed_hex), time.time())


def mail_to(received: list, address: str) -> object:
    """The first message to ``address`` the SMTP server received (waiting at most 10 s)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for message in list(received):
            if message["To"] == address:
                return message
        time.sleep(0.05)
    raise AssertionError(f"no mail to {address}")


def log_out(page) -> None:  # type: ignore[no-untyped-def]
    page.click("header button:has-text('ログアウト')")
    page.wait_for_url("**/login")


def test_r_e7_revocation_then_registration_of_the_new_token_after_the_delay(new_page, server_env):
    org = organization(server_env, "revoke01", hardware_tokens=2)
    (old_serial, old_seed), (new_serial, new_seed) = org["tokens"].items()
    page = new_page()
    log_in(page, org["login_id"], org["password"])
    page.wait_for_selector("#login-id")
    page.click("text=管理 ≫ 利用者管理")
    page.click("text=ワンタイムパスワードの管理")
    row = page.locator("#otp tr", has_text=org["login_id"])
    assert old_serial in row.inner_text()
    row.locator("text=パスワード生成機の失効").click()
    page.fill("#id_confirmation_password", org["confirmation"])
    page.fill("#id_otp", code_of(old_seed))
    page.click("main button[type=submit]")
    page.wait_for_selector("text=パスワード生成機を失効しました")
    assert "未登録" in page.locator("#otp tr", has_text=org["login_id"]).inner_text()

    # Within the delay the next login does not yet ask for a new token (R-E7: about 30 minutes).
    log_out(page)
    log_in(page, org["login_id"], org["password"])
    page.wait_for_selector("#login-id")
    assert "/settings/otp/register" not in page.url

    # 31 minutes later, by the revocation's record: the registration screen comes at login.
    server_shell(
        server_env,
        "from datetime import timedelta; from django.db.models import F; "
        "from corpbank.tokens.models import TokenRegistration; "
        f"TokenRegistration.objects.filter(token__serial={old_serial!r}, ended_at__isnull=False)"
        ".update(ended_at=F('ended_at') - timedelta(minutes=31))",
    )
    log_out(page)
    log_in(page, org["login_id"], org["password"])
    page.wait_for_url("**/settings/otp/register")
    page.goto("/")  # nothing else opens before the registration
    page.wait_for_url("**/settings/otp/register")
    page.fill("#id_serial", old_serial)
    page.fill("#id_otp", code_of(old_seed))
    page.click("main button[type=submit]")
    page.wait_for_selector("#error")  # the revoked token is not taken back
    page.fill("#id_serial", new_serial)
    page.fill("#id_otp", code_of(new_seed))
    page.click("main button[type=submit]")
    page.wait_for_selector("text=ワンタイムパスワードの利用登録が完了しました")
    screenshot(page, "token-reregistered")


def test_r_e9_software_token_from_issue_to_service_in_use(
    new_page, server, server_env, server_mail, tmp_path
):
    org = organization(server_env, "mobile01", software_tokens=True)
    page = new_page()
    log_in(page, org["login_id"], org["password"])
    page.wait_for_url("**/otp")
    assert "未発行" in page.inner_text("#softtoken-state")
    sender = "ib-noreply@corpbank.example"
    assert sender in page.inner_text("main")  # R-E11
    page.click("#issue")
    page.fill("#id_mail_address", "mobile01@example.jp")
    page.fill("#id_activation_password", "Start1app")
    page.fill("#id_activation_password_again", "Start1app")
    page.click("main button[type=submit]")
    page.wait_for_url("**/otp/issue/confirm")
    assert "mobile01@example.jp" in page.inner_text("main")
    page.fill("#id_confirmation_password", org["confirmation"])
    page.click("main button[type=submit]")
    page.wait_for_url("**/otp/issue/done")
    service_id = page.inner_text("#service-id").strip()
    user_id = page.inner_text("#token-user-id").strip()
    screenshot(page, "softtoken-issued")

    download = mail_to(server_mail[1], "mobile01@example.jp")
    assert download["From"] == sender and f"{server}/softtoken/" in download.get_content()

    store = tmp_path / "phone.json"
    app = [sys.executable, "-m", "corpbank.cli", "softtoken", "--store", str(store), "enrol"]
    enrolled = subprocess.run(
        [*app, "--url", server, "--service-id", service_id, "--user-id", user_id],
        input="Start1app\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert enrolled.returncode == 0, enrolled.stderr
    assert oct(Path(store).stat().st_mode & 0o777) == "0o600"
    code = subprocess.run(
        [sys.executable, "-m", "corpbank.cli", "softtoken", "--store", str(store), "code"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()

    page.click("text=ワンタイムパスワード申請内容選択へ")
    page.click("#activate")
    page.fill("#id_otp", code)
    page.click("main button[type=submit]")
    page.wait_for_selector("text=ワンタイムパスワードの利用を開始しました")
    assert page.inner_text("#softtoken-state").strip() == "サービス利用中"
    page.click("text=トップページへ")
    page.wait_for_selector("#login-id")
    screenshot(page, "softtoken-in-use")
