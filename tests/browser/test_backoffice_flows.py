"""The back office in a real Chromium (issue 12 items 7 and 10): an administrator enters an operator's
registration and another approves it; each sees one half of the initial password once (the approver at
approval, the entrant on the action's page); the operator types both, changes the password and
registers the authenticator app from the QR code at the first login; a clerk enters 解約 and an
approver approves it, after which the organization's master can no longer log in."""

from __future__ import annotations

import base64
import time

import pytest

from corpbank.backoffice.services.operators import TOTP_STEP_SECONDS
from corpbank.tokens import otp
from tests.browser.conftest import screenshot
from tests.browser.test_flows import operator_log_in, submit
from tests.browser.test_otp_flows import organization

pytestmark = pytest.mark.browser


def test_two_administrators_register_an_operator_who_changes_the_password_then_registers_the_app(new_page):
    """職員管理 is four-eyes (R-A1): admin1 enters, admin2 approves; admin2 sees the second half of the
    generated initial password, admin1 the first; the newcomer types both, replaces them, then
    registers the authenticator app from the QR code."""
    admin = new_page()
    operator_log_in(admin, "admin1")
    assert admin.inner_text("#operator-role") == "管理者"
    admin.click("nav.menu >> text=職員管理")
    admin.click("main >> text=職員の登録")
    assert admin.locator("#id_password").count() == 0  # nobody chooses another person's password
    admin.fill("#id_login_name", "browser1")
    admin.fill("#id_display_name", "画面 四郎")
    admin.select_option("#id_role", "clerk")
    submit(admin)
    admin.wait_for_selector("#own-entry")
    assert admin.locator("#approve").count() == 0 and "職員の登録" in admin.inner_text("#action-title")

    second = new_page()
    operator_log_in(second, "admin2")
    second.locator("#pending tr", has_text="browser1").first.locator("a", has_text="職員の登録").first.click()
    second.wait_for_selector("#action-details")
    assert "画面 四郎" in second.inner_text("#action-details")
    second.check("#id_confirmed")
    with second.expect_navigation():
        second.click("#approve")
    second_half = (second.locator("#letter-password-half").text_content() or "").strip()
    assert second.inner_text("#letter-login-name") == "browser1" and len(second_half) == 6
    assert "管理 三郎" in second.inner_text("#letter-other-half")  # admin1 hands over the first half
    screenshot(second, "backoffice-operator-letter")

    admin.reload()
    admin.wait_for_selector("#first-half-waits")
    with admin.expect_navigation():
        admin.click("#show-first-half")
    first_half = (admin.locator("#letter-password-half").text_content() or "").strip()
    assert admin.get_attribute("#operator-letter", "data-half") == "first" and len(first_half) == 6
    assert "管理 四郎" in admin.inner_text("#letter-other-half")
    admin.go_back()
    admin.reload()
    assert admin.locator("#show-first-half").count() == 0  # shown once
    initial = first_half + second_half

    newcomer = new_page()
    newcomer.goto("/backoffice/login")
    newcomer.fill("#id_login_name", "browser1")
    newcomer.fill("#id_password", initial)
    submit(newcomer)
    newcomer.wait_for_url("**/backoffice/login/password")
    assert newcomer.locator("#qr").count() == 0
    newcomer.fill("#id_new_password", "Brows3rop")
    newcomer.fill("#id_new_password_again", "Brows3rop")
    submit(newcomer)
    newcomer.wait_for_selector("#qr svg")
    screenshot(newcomer, "backoffice-second-factor-enrolment")
    key = (newcomer.locator("#secret").text_content() or "").strip()
    seed = base64.b32decode(key + "=" * (-len(key) % 8))
    newcomer.fill("#id_otp", otp.hotp(seed, otp.time_step(time.time(), TOTP_STEP_SECONDS)))
    newcomer.click("main button[type=submit]")
    newcomer.wait_for_url("**/backoffice/")
    assert newcomer.inner_text("#operator-role") == "受付担当"
    # A clerk's menu: entry, no 職員管理.
    menu = newcomer.inner_text("nav.menu")
    assert "契約の新規登録" in menu and "職員管理" not in menu
    admin.goto("/backoffice/operators")
    row = admin.inner_text('#operators tr[data-operator="browser1"]')
    assert "登録済" in row and "変更済" in row


def test_r_f6_a_clerk_enters_termination_an_approver_approves_and_the_master_is_refused(new_page, server_env):
    leaving = organization(server_env, "leave01", hardware_tokens=1)
    clerk = new_page()
    operator_log_in(clerk, "clerk1")
    clerk.goto(f"/backoffice/contracts/{leaving['contract_id']}")
    clerk.fill("#termination_reason", "団体解散のため")
    with clerk.expect_navigation():
        clerk.click("#terminate button[type=submit]")
    clerk.wait_for_selector("text=別の職員の承認で有効になります")
    assert "利用中" in clerk.inner_text("#contract-status")
    clerk.goto("/backoffice/")
    row = clerk.locator("#pending tr", has_text="解約").first
    assert "別の職員の承認待ち" in row.inner_text()

    approver = new_page()
    operator_log_in(approver, "clerk2")
    approver.locator("#pending tr", has_text="解約").first.locator("a", has_text="解約").first.click()
    approver.wait_for_selector("#action-details")
    details = approver.inner_text("#action-details")
    assert "団体解散のため" in details and "（計1件）を失効します" in details
    screenshot(approver, "backoffice-termination-approval")
    approver.check("#id_confirmed")
    with approver.expect_navigation():
        approver.click("#approve")
    approver.goto(f"/backoffice/contracts/{leaving['contract_id']}")
    assert approver.inner_text("#contract-status") == "解約"
    assert approver.locator("#terminated").count() == 1

    master = new_page()
    master.goto("/login")
    master.fill("#id_login_id", leaving["login_id"])
    master.fill("#id_password", leaving["password"])
    submit(master)
    assert "解約" in master.inner_text("main")
