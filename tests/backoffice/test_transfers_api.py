"""The back office's side of 振込振替 over the API (issue 14 item 8, R-G2, R-I3): the fee table edited and
used by the next quote, transfers searched, and the day's interbank file in the Zengin format, read back."""

from __future__ import annotations

from datetime import date

from corpbank.core.models import AuditEvent
from corpbank.payments import payees, transfers, zengin
from corpbank.payments.models import Transfer
from tests.api.test_api import operator
from tests.conftest import make_operator
from tests.money import to_mizuho

PIN_FACTORS = {"transfer_pin": "2222", "confirmation_pin": "3333"}


def test_r_g2_the_fee_table_is_edited_and_the_next_quote_uses_it(payer, operators):
    clerk = operator("clerk1")
    status, table = clerk.get("/backoffice/fees")
    assert status == 200 and len(table) == 6
    assert {(row["destination"], row["band"]): row["fee"] for row in table}[("other_bank", "from")] == 550
    status, table = clerk.call("put", "/backoffice/fees/other_bank/from", {"fee": "６６０円"})
    assert status == 200, table
    assert transfers.quote(payer, to_mizuho(payer, "30000")).fee == 660
    assert transfers.quote(payer, to_mizuho(payer, "29999")).fee == 330
    status, body = clerk.call("put", "/backoffice/fees/other_bank/from", {"fee": "-1"})
    assert status == 422 and "fee" in body["error"]["fields"]
    assert AuditEvent.objects.filter(
        action="transfer.fee_changed", details__fee=660, details__before=550
    ).exists()
    make_operator("admin9", role="admin")
    assert operator("admin9").call("put", "/backoffice/fees/other_bank/from", {"fee": "0"})[0] == 403


def test_r_g2_transfers_are_searched_and_the_days_interbank_file_reads_back(
    payer, operators, other_customer, monkeypatch
):
    # The file's transfers are marked sent in chunks of their keys (a day may hold 999,999; one
    # PostgreSQL statement binds at most 65,535 parameters): here one key per chunk.
    monkeypatch.setattr("corpbank.backoffice.services.transfers.FILED_CHUNK", 1)
    first = transfers.accept(payer, to_mizuho(payer, "20000"), PIN_FACTORS)
    second = transfers.accept(payer, to_mizuho(payer, "50000", fee_bearer="payee"), PIN_FACTORS)
    transfers.accept(
        payer,
        transfers.TransferInput(
            source_account=str(payer.contract.accounts.get().pk),
            to="adhoc",
            amount="1000",
            adhoc=payees.PayeeInput(bank_code="2999", branch_code="101", type="1", number="7654321"),
        ),
        PIN_FACTORS,
    )
    clerk = operator("clerk1")
    status, found = clerk.get("/backoffice/transfers?date_from=2026/11/24&other_banks_only=true")
    assert status == 200 and [row["id"] for row in found] == [second.pk, first.pk]
    assert found[0]["contract_number"] == payer.contract.number
    status, found = clerk.get(f"/backoffice/transfers?reception_number={first.reception_number}")
    assert [row["id"] for row in found] == [first.pk]
    response = clerk.client.post("/api/v1/backoffice/transfers/outgoing/2026-11-24", headers=csrf(clerk))
    assert response.status_code == 200 and "zengin-20261124" in response["Content-Disposition"]
    header, records, trailer = zengin.read(response.content)
    assert header["bank_code"] == "2999"
    assert [(r.bank_code, r.amount, r.customer_code1) for r in records] == [
        ("0001", 20_000, first.reception_number),
        ("0001", 50_000 - 550, second.reception_number),  # 先方負担: the payee receives less the fee
    ]
    assert records[0].holder_kana == "ﾐｽﾞﾎ ﾀﾛｳ" and records[0].bank_name_kana == "ﾐｽﾞﾎ"
    assert trailer == {"count": 2, "total": 20_000 + 49_450}
    assert AuditEvent.objects.filter(action="transfer.outgoing_file_downloaded", details__count=2).exists()
    assert all(Transfer.objects.get(pk=sent.pk).filed_at is not None for sent in (first, second))
    again = clerk.client.post("/api/v1/backoffice/transfers/outgoing/2026-11-24", headers=csrf(clerk))
    assert zengin.read(again.content)[2] == {"count": 0, "total": 0}  # nothing sent twice
    empty = clerk.client.post("/api/v1/backoffice/transfers/outgoing/2026-11-25", headers=csrf(clerk))
    assert zengin.read(empty.content)[2] == {"count": 0, "total": 0}
    assert date(2026, 11, 24) == first.execution_date


def test_r_g2_a_file_marks_what_it_sent_and_a_late_execution_goes_out_on_the_day_it_ran(payer, operators):
    late = transfers.accept(payer, to_mizuho(payer, "7000", execution_date="2026/11/25"), PIN_FACTORS)
    today = transfers.accept(payer, to_mizuho(payer, "8000"), PIN_FACTORS)
    clerk = operator("clerk1")
    first = clerk.client.post("/api/v1/backoffice/transfers/outgoing/2026-11-24", headers=csrf(clerk))
    assert [r.customer_code1 for r in zengin.read(first.content)[1]] == [today.reception_number]
    second = clerk.client.post("/api/v1/backoffice/transfers/outgoing/2026-11-24", headers=csrf(clerk))
    assert zengin.read(second.content)[2] == {"count": 0, "total": 0}  # nothing sent twice
    status, batches = clerk.get("/backoffice/transfers/outgoing/2026-11-24/batches")
    assert status == 200 and [batch["count"] for batch in batches] == [1]
    again = clerk.client.get(
        "/api/v1/backoffice/transfers/outgoing/2026-11-24", {"batch": batches[0]["filed_at"]}
    )
    assert [r.customer_code1 for r in zengin.read(again.content)[1]] == [today.reception_number]  # that file
    transfers.execute_due(date(2026, 11, 26))  # the worker was down on the 25th
    late.refresh_from_db()
    assert late.posting.value_date == date(2026, 11, 26)
    file = clerk.client.post("/api/v1/backoffice/transfers/outgoing/2026-11-26", headers=csrf(clerk))
    assert [r.customer_code1 for r in zengin.read(file.content)[1]] == [late.reception_number]
    _status, found = clerk.get("/backoffice/transfers?other_banks_only=true")
    assert all(row["filed_at"] for row in found)


def csrf(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"X-CSRFToken": client.client.cookies["corpbank_bo_csrftoken"].value}
