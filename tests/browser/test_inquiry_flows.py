"""明細照会 in a real Chromium against the production server and the demo bank (R-G1, issue 14 item 3):
the inquiry PIN typed in full width, the balances, an account's history and its CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from corpbank.management.commands.loaddemo import DEMO, DEMO_PINS
from tests.browser.conftest import screenshot
from tests.browser.test_flows import log_in, submit

pytestmark = pytest.mark.browser


def test_r_g1_balances_and_history_with_the_inquiry_pin(new_page):
    page = new_page()
    log_in(page, DEMO["master_login_id"], DEMO["master_password"])
    page.click("nav.menu >> text=明細照会")
    page.wait_for_url("**/inquiry/pin?*")
    page.fill("#id_inquiry_pin", "９９９９")  # a wrong PIN, counted and refused
    submit(page)
    assert "入力された認証情報に誤りがあります" in page.inner_text("main")
    full_width = DEMO_PINS["inquiry_pin"].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    page.fill("#id_inquiry_pin", full_width)
    submit(page)
    page.wait_for_url("**/inquiry/balances")
    table = page.inner_text("#balances")
    assert "1234567" in table and "7654321" in table and "ｺｰﾌﾟｾｲｻｸｼﾖﾛｳﾄﾞｳｸﾐｱｲ" in table
    assert "円" in table
    screenshot(page, "inquiry-balances")

    page.click("#balances tr:has-text('1234567') >> text=入出金明細")
    page.wait_for_selector("#history")
    assert "件" in page.inner_text("#period")
    screenshot(page, "inquiry-history")
    history = page.url
    page.set_viewport_size({"width": 375, "height": 800})  # a phone: the table scrolls, not the page
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(history)
    page.fill("#id_date_from", "２０２６／１３／０１")  # no 13th month: told on its field
    page.click("main button[type=submit]")
    page.wait_for_selector("#error")
    assert "存在する日付" in page.inner_text("main")

    page.fill("#id_date_from", "")
    page.click("main button[type=submit]")
    page.wait_for_selector("#csv")
    with page.expect_download() as download:
        page.click("#csv")
    content = Path(download.value.path()).read_bytes()
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert rows[0][:2] == ["勘定日", "摘要"]
    # Another inquiry in the same session asks no PIN again.
    page.goto("/inquiry/balances")
    page.wait_for_selector("#balances")
