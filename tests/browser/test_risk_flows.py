"""追加認証 in a real Chromium (R-D1, R-D2): questions at the first login; a fresh browser profile is
asked one; the same profile is not asked again; after its cookies are deleted it is asked again."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_flows import ANSWER, log_in, register_questions, submit
from tests.browser.test_otp_flows import log_out, organization

pytestmark = pytest.mark.browser


def test_r_d1_r_d2_questions_then_recognised_profiles_only(new_page, server_env):
    org = organization(server_env, "risk0001")
    first = new_page()
    log_in(first, org["login_id"], org["password"], complete=False)
    first.wait_for_url("**/settings/questions")  # R-D1: at the first login
    assert "追加認証（合言葉）の登録" in first.inner_text("main")
    register_questions(first)
    first.wait_for_selector("text=追加認証の合言葉を登録しました")
    log_out(first)

    log_in(first, org["login_id"], org["password"], complete=False)  # the same profile: not asked
    first.wait_for_selector("#login-id")

    other = new_page()  # a fresh profile: asked before the session starts
    log_in(other, org["login_id"], org["password"], complete=False)
    other.wait_for_url("**/login/additional")
    assert "追加認証" in other.inner_text("main h1")
    screenshot(other, "additional-authentication")
    other.goto("/")  # no session yet
    other.wait_for_url("**/login")
    log_in(other, org["login_id"], org["password"], complete=False)
    other.fill("#id_answer", "ちがう")
    submit(other)
    assert "合言葉の回答に誤りがあります" in other.inner_text("#error")
    other.fill("#id_answer", f"  {ANSWER} ")  # normalised: surrounding spaces do not matter
    submit(other)
    other.wait_for_selector("#login-id")
    log_out(other)
    log_in(other, org["login_id"], org["password"], complete=False)  # now recognised
    other.wait_for_selector("#login-id")
    log_out(other)

    other.context.clear_cookies()  # cookies deleted: asked again
    log_in(other, org["login_id"], org["password"], complete=False)
    other.wait_for_url("**/login/additional")
