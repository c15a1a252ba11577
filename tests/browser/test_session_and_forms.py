"""What a person sees, in a real Chromium against the production server (issue 12 items 8, 11, 15):
the back button after logout shows the login page, not the signed-in page from the browser's cache;
a form sent after the session timed out says why and comes back after the next login, without its
secrets (R-A5); the first field in error takes the focus and names its error. Each test builds its own
organization in the server's database; the session's clock is moved, never slept on."""

from __future__ import annotations

import pytest

from tests.browser.conftest import CHROMIUM, screenshot
from tests.browser.test_flows import log_in, submit
from tests.browser.test_otp_flows import log_out, organization
from tests.servers import server_shell

pytestmark = pytest.mark.browser


def age_session(server_env: dict[str, str], page, minutes: int = 11) -> None:  # type: ignore[no-untyped-def]
    """The browser's session last used ``minutes`` ago, past the policy's 10 minutes of inactivity."""
    key = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "sessionid")
    server_shell(
        server_env,
        "from datetime import timedelta; from django.utils import timezone; "
        "from django.contrib.sessions.backends.db import SessionStore; "
        f"session = SessionStore(session_key={key!r}); "
        f"session['corpbank.last_seen'] = (timezone.now() - timedelta(minutes={minutes})).isoformat(); "
        "session.save()",
    )


@pytest.fixture
def everyday_page(browser, server):  # type: ignore[no-untyped-def]
    """A page of Chromium as people run it: with its back-forward cache, which Playwright turns off.
    A page kept there comes back on the back button without the browser asking the server."""
    instance = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        ignore_default_args=["--disable-back-forward-cache"],
    )
    context = instance.new_context(base_url=server, locale="ja-JP")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()
    instance.close()


def test_the_back_button_after_logout_shows_the_login_page(everyday_page, server_env):
    org = organization(server_env, "backbtn1")
    page = everyday_page
    log_in(page, org["login_id"], org["password"])
    page.click("text=管理 ≫ 利用者管理")
    page.wait_for_url("**/admin/users")
    assert page.inner_text("h1") == "利用者管理"
    log_out(page)
    page.go_back(wait_until="commit")  # a page from the back-forward cache fires no load event
    page.wait_for_selector("main h1")
    # Nothing of the signed-in page was kept: the browser asked the server, which sent the login page.
    assert page.url.endswith("/login"), page.url
    assert page.inner_text("main h1") == "ログイン" and "利用者管理" not in page.inner_text("main")
    screenshot(page, "back-after-logout")


def test_r_a5_a_form_sent_after_inactivity_says_why_and_comes_back(new_page, server_env):
    org = organization(server_env, "draft001")
    page = new_page()
    log_in(page, org["login_id"], org["password"])
    page.goto("/admin/users/new")
    page.fill("#id_login_id", "keepme01")
    page.fill("#id_name", "保存 花子")
    page.fill("#id_login_password", "Secret1pw")
    page.check("input[name=permissions][value=inquiry]")
    age_session(server_env, page)
    submit(page)
    page.wait_for_url("**/login")
    assert "一定時間操作がなかったため、ログアウトしました" in page.inner_text("main")
    screenshot(page, "logged-out-for-inactivity")

    # The login goes straight back to the form, as the message promised.
    log_in(page, org["login_id"], org["password"])
    page.wait_for_selector("#restored")
    assert page.url.endswith("/admin/users/new")
    assert page.input_value("#id_login_id") == "keepme01"
    assert page.input_value("#id_name") == "保存 花子"
    assert page.is_checked("input[name=permissions][value=inquiry]")
    assert page.input_value("#id_login_password") == ""  # never kept
    screenshot(page, "form-restored-after-login")


def test_the_first_field_in_error_takes_the_focus_and_names_its_error(new_page, server_env):
    org = organization(server_env, "focus001")
    page = new_page()
    log_in(page, org["login_id"], org["password"])
    page.goto("/admin/users/new")
    page.fill("#id_login_id", "ab")
    page.fill("#id_name", "新人 次郎")
    submit(page)
    page.wait_for_function("document.activeElement && document.activeElement.id === 'id_login_id'")
    assert page.get_attribute("#id_login_id", "aria-invalid") == "true"
    described = (page.get_attribute("#id_login_id", "aria-describedby") or "").split()
    assert "error_login_id" in described and page.inner_text("#error_login_id").strip()
    assert page.get_attribute("#id_name", "aria-invalid") is None
    screenshot(page, "focus-on-first-error")

    log_out(page)
    page.fill("#id_login_id", org["login_id"])
    page.fill("#id_password", "Wrong1pass")
    submit(page)
    # An error of no field: the alert takes the focus, and a screen reader reads it.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'error'")
    assert page.get_attribute("#error", "role") == "alert"
