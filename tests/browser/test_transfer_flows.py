"""振込先管理 and 振込振替 in a real Chromium against the production server (R-G2, R-G4, issue 14 item 10):
a payee registered with the confirmation password and the OTP, its holder's name typed in full-width
katakana and kept in the Zengin half-width kana; an ad-hoc transfer to another bank with the PINs and the
OTP (its bank and branch chosen in 金融機関・支店の検索, what was typed kept), then one to the
registered payee with the PINs alone, each to its completion and reception number."""

from __future__ import annotations

import time

import pytest

from corpbank.management.commands.loaddemo import DEMO_PINS
from corpbank.tokens import otp
from tests.browser.conftest import screenshot
from tests.browser.test_flows import log_in, submit
from tests.browser.test_otp_flows import organization
from tests.servers import server_shell

pytestmark = pytest.mark.browser


def code_at(seed_hex: str, offset: float) -> str:
    """The token's code ``offset`` seconds from now."""
    return otp.totp(bytes.fromhex(seed_hex), time.time() + offset)


def test_r_g4_r_g2_payee_registration_and_transfers_with_otp(new_page, server_env):
    org = organization(server_env, "money01", hardware_tokens=1, funds=500_000)
    seed = next(iter(org["tokens"].values()))
    page = new_page()
    log_in(page, org["login_id"], org["password"])

    page.click("nav.menu >> text=振込先管理")
    page.click("#new-payee")
    page.fill("#id_bank_code", "０００１")
    page.fill("#id_branch_code", "001")
    page.select_option("#id_type", "1")
    page.fill("#id_number", "1234567")
    page.fill("#id_holder", "ミライ　ショウジ")  # full-width katakana, an ideographic space
    page.fill("#id_nickname", "未来商事")
    submit(page)
    page.wait_for_url("**/payees/confirm/*")
    assert "ﾐﾗｲ ｼﾖｳｼﾞ" in page.inner_text("#payee")
    page.fill("#id_confirmation_password", org["confirmation"])
    page.fill("#id_otp", code_at(seed, 0))
    submit(page)
    page.wait_for_url("**/payees")
    assert "未来商事" in page.inner_text("#payees")
    screenshot(page, "payees")

    # 都度指定 to another bank: the PINs and the OTP.
    page.click("nav.menu >> text=振込振替")
    page.click("#new-transfer")
    page.select_option("#id_to", "adhoc")
    page.select_option("#id_type", "1")
    page.fill("#id_number", "7777777")
    page.fill("#id_holder", "ﾀﾅｶ ｲﾁﾛｳ")
    page.fill("#id_amount", "３０，０００")
    # The bank and branch looked up rather than typed: what was typed comes back with them.
    with page.expect_navigation():
        page.click("#bank-search")
    page.fill("#id_q", "0005")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    with page.expect_navigation():
        page.click("#banks >> text=支店を検索")
    page.fill("#id_q", "001")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    with page.expect_navigation():
        page.click("#branches a.choose >> nth=0")
    page.wait_for_url("**/transfers/new?draft=*")
    assert page.input_value("#id_bank_code") == "0005" and page.input_value("#id_branch_code") == "001"
    assert page.input_value("#id_amount") == "３０，０００" and page.input_value("#id_to") == "adhoc"
    submit(page)
    page.wait_for_url("**/transfers/confirm/*")
    quote = page.inner_text("#quote")
    assert "ﾀﾅｶ ｲﾁﾛｳ" in quote and "30,000円（3万円）" in quote
    screenshot(page, "transfer-confirm")
    page.fill("#id_transfer_pin", DEMO_PINS["transfer_pin"])
    page.fill("#id_confirmation_pin", DEMO_PINS["confirmation_pin"])
    page.fill("#id_otp", code_at(seed, 60))  # the next 60-second step: the registration spent this one
    submit(page)
    page.wait_for_selector("#reception-number")
    assert page.inner_text("#status") in {"完了", "予約中"}  # before or after the day's cut-off
    reception = page.inner_text("#reception-number").strip()
    assert len(reception) == 10
    screenshot(page, "transfer-done")

    # To the registered payee: the PINs alone (no OTP field).
    page.click("text=続けて振込振替をする")
    page.select_option("#id_to", "payee")
    page.select_option(
        "#id_payee_id", label=page.locator("#id_payee_id option", has_text="未来商事").inner_text()
    )
    page.fill("#id_amount", "1000")
    submit(page)
    page.wait_for_url("**/transfers/confirm/*")
    assert page.locator("#id_otp").count() == 0
    page.fill("#id_transfer_pin", DEMO_PINS["transfer_pin"])
    page.fill("#id_confirmation_pin", DEMO_PINS["confirmation_pin"])
    submit(page)
    page.wait_for_selector("#reception-number")
    assert "ﾐﾗｲ ｼﾖｳｼﾞ" in page.inner_text("#transfer")
    page.goto("/transfers")
    assert page.locator("#transfers tr").count() == 3  # the header and the two transfers
    count = server_shell(
        server_env,
        "from corpbank.payments.models import Transfer; "
        f"print(Transfer.objects.filter(contract_id={org['contract_id']}).count())",
    )
    assert count.strip().splitlines()[-1] == "2"
