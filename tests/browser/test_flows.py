"""The main flows in a real Chromium against the production server (R-B7, R-B8, R-B6, R-C1, R-C6)."""

from __future__ import annotations

import time

import pytest

from corpbank.backoffice.services.operators import TOTP_STEP_SECONDS
from corpbank.management.commands.loaddemo import DEMO, DEMO_OPERATOR_SEED, DEMO_SEED, DEMO_TOKENS
from corpbank.tokens import otp
from tests.browser.conftest import OPERATOR_WINDOW_STEPS, screenshot

pytestmark = pytest.mark.browser


def demo_code() -> str:
    """What the demo tokens show now (the server runs on the same clock)."""
    return otp.totp(DEMO_SEED, time.time())


ANSWER = "さくら"  # the browser tests' answer to every secret question


def submit(page) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.click("main button[type=submit]")


def register_questions(page) -> None:  # type: ignore[no-untyped-def]
    """追加認証（合言葉）の登録 (R-D1): the first three questions, each answered ANSWER."""
    for position in (1, 2, 3):
        page.select_option(f"#id_question_{position}", index=position)
        page.fill(f"#id_answer_{position}", ANSWER)
    submit(page)


def log_in(page, login_id: str, password: str, *, complete: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Log in as a person would: with ``complete``, answer the secret question of an unrecognised
    browser (R-D2) and register the questions at the first login (R-D1)."""
    page.goto("/login")
    page.fill("#id_login_id", login_id)
    page.fill("#id_password", password)
    submit(page)
    if complete and "/login/additional" in page.url:
        page.fill("#id_answer", ANSWER)
        submit(page)
    if complete and "/settings/questions" in page.url:
        register_questions(page)


_operator_steps: dict[str, int] = {}


def demo_operator_code(login_name: str) -> str:
    """What a demo operator's authenticator app shows: a step of the server's window this run has not
    used yet (the server accepts a code once; tests/browser/conftest.py widens its window)."""
    current = otp.time_step(time.time(), TOTP_STEP_SECONDS)
    # Not the window's first step: the step may end while the browser types the code.
    earliest = current - OPERATOR_WINDOW_STEPS + 1
    step = max(earliest, _operator_steps.get(login_name, earliest - 1) + 1)
    assert step <= current + OPERATOR_WINDOW_STEPS, f"{login_name} logged in too often in one step"
    _operator_steps[login_name] = step
    return otp.hotp(DEMO_OPERATOR_SEED, step)


def operator_log_in(page, login_name: str) -> None:  # type: ignore[no-untyped-def]
    """The back office's login: the password, then the authenticator app's one-time password."""
    page.goto("/backoffice/login")
    page.fill("#id_login_name", login_name)
    page.fill("#id_password", DEMO["operator_password"])
    submit(page)
    page.wait_for_url("**/backoffice/login/second-factor")
    page.fill("#id_otp", demo_operator_code(login_name))
    page.click("main button[type=submit]")
    page.wait_for_url("**/backoffice/")


def test_r_b7_contract_registered_by_two_operators_then_master_first_registration_and_login(new_page):
    clerk = new_page()
    operator_log_in(clerk, "clerk1")
    clerk.click("text=契約の新規登録")
    clerk.fill("#id_organization_name", "ブラウザ労働組合")
    clerk.fill("#id_organization_name_kana", "ﾌﾞﾗｳｻﾞﾛｳﾄﾞｳｸﾐｱｲ")
    clerk.select_option("#id_branch_code", "101")
    clerk.fill("#id_master_name", "画面 太郎")
    clerk.fill("#id_account_0_number", "8888888")
    clerk.select_option("#id_otp_use", "none")  # this organization applies for OTP later
    for kind, pin in (
        ("inquiry_pin", "1357"),
        ("transfer_pin", "2468"),
        ("confirmation_pin", "1470"),
        ("approval_pin", "2580"),
    ):
        clerk.fill(f"#id_{kind}", pin)
    clerk.click("#submit-contract")
    clerk.wait_for_selector("text=別の職員の承認で有効になります")
    clerk.goto("/backoffice/")
    row = clerk.locator("#pending tr", has_text="ブラウザ労働組合")
    assert row.locator("text=別の職員の承認待ち").count() == 1

    approver = new_page()
    operator_log_in(approver, "clerk2")
    pending = approver.locator("#pending tr", has_text="ブラウザ労働組合")
    pending.locator("text=内容を確認して承認・却下").click()
    approver.check("#id_confirmed")  # 内容を確認しました
    approver.click("#approve")
    approver.wait_for_selector("#letter")
    screenshot(approver, "initial-password-letter")
    contract_number = approver.inner_text("#letter-contract-number").strip()
    initial_password = approver.inner_text("#letter-initial-password").strip()

    master = new_page()
    master.goto("/login")
    master.click("text=マスターユーザの初回登録はこちら")
    master.fill("#id_contract_number", contract_number)
    master.fill("#id_initial_password", initial_password)
    master.fill("#id_login_id", "browser01")
    for field, value in (
        ("login_password", "Brows3rpw"),
        ("login_password_again", "Brows3rpw"),
        ("confirmation_password", "Conf1rmpw"),
        ("confirmation_password_again", "Conf1rmpw"),
    ):
        master.fill(f"#id_{field}", value)
    master.click("main button[type=submit]")
    master.wait_for_selector("text=ご登録が完了しました")
    log_in(master, "browser01", "Brows3rpw")
    master.wait_for_selector("#login-id")
    assert master.inner_text("#login-id") == "browser01"
    assert "ブラウザ労働組合" in master.inner_text("header")
    screenshot(master, "master-top-page")


def test_r_b8_general_user_added_by_master_then_first_login_forces_the_change(new_page):
    master = new_page()
    log_in(master, DEMO["master_login_id"], DEMO["master_password"])
    master.click("text=管理 ≫ 利用者管理")
    master.click("text=利用者の追加")
    master.fill("#id_login_id", "newstaff1")
    master.fill("#id_name", "新人 次郎")
    master.fill("#id_login_password", "Start1pass")
    master.fill("#id_user_confirmation_password", "Start1conf")
    master.check("input[name=permissions][value=inquiry]")
    master.fill("#id_limit_single_transfer", "100000")
    master.fill("#id_limit_single_transfer_per_day", "300000")
    master.fill("#id_confirmation_password", DEMO["master_confirmation"])
    master.fill("#id_otp", demo_code())
    master.click("main button[type=submit]")
    master.wait_for_selector("text=利用者を追加しました")
    assert "newstaff1" in master.inner_text("#users")

    staff = new_page()
    log_in(staff, "newstaff1", "Start1pass")
    staff.wait_for_url("**/settings/password")
    assert "現在と異なるものに変更してください" in staff.inner_text("main")
    staff.goto("/")  # nothing else is reachable before the change
    staff.wait_for_url("**/settings/password")
    staff.fill("#id_current_login_password", "Start1pass")
    staff.fill("#id_new_login_password", "Own1login")
    staff.fill("#id_new_login_password_again", "Own1login")
    staff.fill("#id_current_confirmation_password", "Start1conf")
    staff.fill("#id_new_confirmation_password", "Own1confirm")
    staff.fill("#id_new_confirmation_password_again", "Own1confirm")
    staff.click("main button[type=submit]")
    staff.wait_for_selector("text=パスワードを変更しました")
    # R-D1: then the secret questions; R-E7: the contract uses OTP and the user has no token yet, so
    # the registration screen comes next.
    staff.wait_for_url("**/settings/questions")
    register_questions(staff)
    staff.wait_for_url("**/settings/otp/register")
    staff.fill("#id_serial", DEMO_TOKENS["general"])
    staff.fill("#id_otp", demo_code())
    staff.click("main button[type=submit]")
    staff.wait_for_selector("text=ワンタイムパスワードの利用登録が完了しました")
    assert staff.inner_text("#login-id") == "newstaff1"


def test_r_c1_r_c6_lockout_message_after_repeated_failures(new_page):
    page = new_page()
    for _ in range(5):
        log_in(page, DEMO["general_login_id"], "Wrong1pass")
        assert "ログインIDまたはパスワードに誤りがあります" in page.inner_text("#error")
    log_in(page, DEMO["general_login_id"], "Wrong1pass")
    message = page.inner_text("#error")
    assert "までご利用いただけません" in message and "ロックアウト" in message
    # Even the right password now meets the same lockout message.
    log_in(page, DEMO["general_login_id"], DEMO["general_password"])
    assert "までご利用いただけません" in page.inner_text("#error")
    screenshot(page, "lockout")


def test_english_screens(new_page):
    page = new_page()
    page.goto("/login")
    page.click("button[name=language][value=en]")
    page.wait_for_selector("text=Login ID")
    log_in(page, "nobody99", "Wrong1pass")
    assert "The login ID or password is wrong." in page.inner_text("#error")
