"""The back office's screens as a clerk and an approver see them, in a real Chromium against the
production server (issue 12, items 13, 14): a new contract with several accounts entered row by row; the
approver reads the whole entry and approves only after ticking 「内容を確認しました」; the audit log in
the bank's words, inside its card (R-A1, R-A2, R-I3)."""

from __future__ import annotations

import json
import time

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_flows import operator_log_in
from tests.browser.test_otp_flows import organization
from tests.servers import server_shell

pytestmark = pytest.mark.browser


def test_r_a2_r_a1_a_contract_with_several_accounts_entered_then_read_and_confirmed(new_page):
    clerk = new_page()
    operator_log_in(clerk, "clerk1")
    clerk.click("nav.menu >> text=契約の新規登録")
    clerk.fill("#id_organization_name", "三口座労働組合")
    clerk.fill("#id_organization_name_kana", "ｻﾝｺｳｻﾞﾛｳﾄﾞｳｸﾐｱｲ")
    clerk.fill("#id_master_name", "口座 三郎")
    clerk.fill("#id_notification_email", "sankouza@example.jp")
    clerk.select_option("#id_otp_use", "none")
    numbers = [f"{(int(time.time() * 1000) + offset) % 10**7:07d}" for offset in (0, 1, 2)]
    clerk.fill("#id_account_0_number", numbers[0])
    clerk.select_option("#id_account_1_type", "2")
    clerk.fill("#id_account_1_number", numbers[1])
    # A fourth row: the form comes back with what was typed and one row more.
    clerk.click("#add-account")
    clerk.wait_for_selector("#id_account_3_number")
    assert clerk.input_value("#id_account_0_number") == numbers[0]
    assert clerk.input_value("#id_organization_name") == "三口座労働組合"
    clerk.fill("#id_account_3_number", numbers[2])
    for kind, pin in (
        ("inquiry_pin", "1357"),
        ("transfer_pin", "2468"),
        ("confirmation_pin", "1470"),
        ("approval_pin", "2580"),
    ):
        clerk.fill(f"#id_{kind}", pin)
    clerk.fill("#id_limit_bulk_transfer", "2,000,000")
    clerk.fill("#id_limit_bulk_transfer_per_day", "5,000,000")
    screenshot(clerk, "backoffice-new-contract-rows")
    clerk.click("#submit-contract")
    clerk.wait_for_selector("#own-entry")  # the clerk sees the entry as the approver will
    assert "別の職員の承認で有効になります" in clerk.inner_text("main")
    entry_url = clerk.url

    approver = new_page()
    operator_log_in(approver, "clerk2")
    row = approver.locator("#pending tr", has_text="三口座労働組合")
    assert row.locator("button", has_text="承認").count() == 0  # no approval in one click
    row.locator("text=内容を確認して承認・却下").click()
    approver.wait_for_selector("#action-details")
    assert approver.url == entry_url
    details = approver.inner_text("#action-details")
    for shown in (
        "三口座労働組合",
        "ｻﾝｺｳｻﾞﾛｳﾄﾞｳｸﾐｱｲ",
        "口座 三郎",
        "sankouza@example.jp",
        "利用しない",
        f"普通 {numbers[0]}",
        f"当座 {numbers[1]}",
        f"普通 {numbers[2]}",
        "1回あたり 2,000,000円・1日あたり 5,000,000円",
    ):
        assert shown in details, shown
    for pin in ("1357", "2468", "1470", "2580"):
        assert pin not in approver.content()
    screenshot(approver, "backoffice-approval-details")
    # 承認 without the tick goes nowhere: the browser asks for it (and the server refuses it too).
    assert not approver.evaluate("document.querySelector('#approve-form').checkValidity()")
    approver.click("#approve")
    approver.reload()
    assert "承認待ち" in approver.inner_text("#action-status")
    approver.check("#id_confirmed")
    approver.click("#approve")
    approver.wait_for_selector("#letter")
    assert approver.inner_text("#letter-contract-number").strip().isdigit()


def test_r_i3_the_audit_log_in_the_banks_words_stays_inside_its_card(new_page, server_env):
    org = organization(server_env, "auditlog1")
    # An emergency stop entered and approved, whose reason is one long unbroken string (a pasted
    # address): the kind of value that pushed the old table out of its card.
    reason = "https://example.jp/" + "x" * 160
    contract_number = json.loads(
        server_shell(
            server_env,
            "import json; from corpbank.backoffice import services as b; "
            "from corpbank.backoffice.models import Operator; from corpbank.organizations.models import "
            "Contract; clerk, approver = Operator.objects.get(login_name='clerk1'), "
            "Operator.objects.get(login_name='clerk2'); "
            f"entered = b.enter_emergency_stop(clerk, {org['contract_id']}, reason={reason!r}); "
            "b.approve(approver, entered.pk); "
            f"print(json.dumps(Contract.objects.get(pk={org['contract_id']}).number))",
        )
        .strip()
        .splitlines()[-1]
    )
    page = new_page()
    operator_log_in(page, "clerk1")
    page.click("nav.menu >> text=監査ログ検索")
    page.fill("#id_contract_number", contract_number)
    page.select_option("#id_action", label="契約（すべて）")
    page.click("main button[type=submit]")
    page.wait_for_selector("#audit")
    stop = page.locator("#audit tr", has_text="緊急停止").first
    assert "clerk2" in stop.locator("td.actor").inner_text()  # 実行者: the approver, by name and login
    assert reason in stop.locator("td.details").inner_text()
    assert "contract.emergency_stopped" not in page.inner_text("main")
    card = page.evaluate("document.querySelector('main').getBoundingClientRect().right")
    table = page.evaluate("document.querySelector('#audit').getBoundingClientRect().right")
    widest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('#audit td')].map(c => c.scrollWidth - c.clientWidth))"
    )
    assert table <= card and widest <= 1, (table, card, widest)
    screenshot(page, "backoffice-audit-log")
    # English, through the header's language switch.
    page.click("header button[lang=en]")
    page.wait_for_selector("#audit")
    assert "Emergency stop" in page.inner_text("#audit")
    assert "Kind of operation" in page.inner_text("#audit-filters")
