"""The back office's screens for a clerk and an approver, through the HTTP stack (issue 12, items 13, 14):
the new-contract form with several accounts, the approval screen that shows the whole entry (and what a
change changes) and asks for a confirmation, and the audit log in the bank's words (R-A1, R-A2, R-I3)."""

from __future__ import annotations

import ast
import contextlib
import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from corpbank.approvals import engine
from corpbank.approvals.models import PendingAction
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.services import AccountInput
from corpbank.core import audit, audit_labels
from corpbank.core.errors import ValidationFailed
from corpbank.core.models import AuditEvent
from corpbank.identity.models import Principal
from corpbank.organizations.models import Branch, Contract
from tests.api.test_api import operator as api_operator
from tests.conftest import (
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    PINS,
    Client,
    application,
    make_operator,
    operator_signed_in,
    ship_tokens,
)

SOURCES = Path(__file__).resolve().parents[2] / "src" / "corpbank"


def operator_client(login_name: str, *, english: bool = False) -> Client:
    client = Client()
    if english:
        client.cookies["django_language"] = "en"
    return operator_signed_in(client, login_name)  # type: ignore[return-value]


def visible(response) -> str:  # type: ignore[no-untyped-def]
    """What a person reads on the page: the text without tags, attributes, styles or options' values."""
    page = response.content.decode()
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def row_text(response, name: str) -> str:  # type: ignore[no-untyped-def]
    """The text of the approval screen's row of one field (data-name)."""
    page = response.content.decode()
    found = re.search(rf'<tr data-name="{re.escape(name)}"[^>]*>(.*?)</tr>', page, flags=re.S)
    assert found, f"no row {name}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


FORM = {
    "organization_name": "画面労働組合",
    "organization_name_kana": "ｶﾞﾒﾝﾛｳﾄﾞｳｸﾐｱｲ",
    "branch_code": "101",
    "master_name": "画面 花子",
    "notification_email": "office@example.jp",
    "login_method": "password",
    "otp_use": "hardware",
    "account_rows": "3",
    "account_0_branch": "101",
    "account_0_type": "1",
    "account_0_number": "2345678",
    "account_1_branch": "102",
    "account_1_type": "2",
    "account_1_number": "３４５６７８９",  # typed with the IME on
    "account_2_branch": "101",
    "account_2_type": "1",
    "account_2_number": "",
    "limit_single_transfer": "5,000,000",
    "limit_single_transfer_per_day": "8,000,000",
    **PINS,
}


@pytest.fixture
def second_branch(branch: Branch) -> Branch:
    return Branch.objects.create(code="102", name="駅前支店")


# ---------------------------------------------------------------------------------------------------
# Item 13: the new-contract form


def test_r_a2_the_new_contract_form_takes_several_accounts_in_rows(second_branch, operators):
    clerk = operator_client("clerk1")
    form = clerk.get("/backoffice/contracts/new").content.decode()
    for row in range(3):
        assert f'id="id_account_{row}_number"' in form and f'id="id_account_{row}_branch"' in form
    response = clerk.post("/backoffice/contracts/new", FORM)
    action = PendingAction.objects.get(status="pending")
    assert response.status_code == 302 and response["Location"] == f"/backoffice/actions/{action.pk}"
    assert action.payload["accounts"] == [
        {"branch_code": "101", "type": "1", "number": "2345678"},
        {"branch_code": "102", "type": "2", "number": "3456789"},
    ]
    assert action.payload["limits"]["single_transfer"] == [5_000_000, 8_000_000]
    approver = operator_client("clerk2")
    approver.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    contract = Contract.objects.get()
    assert sorted((a.branch.code, a.type, a.number) for a in contract.accounts.all()) == [
        ("101", "1", "2345678"),
        ("102", "2", "3456789"),
    ]


def test_a_row_is_added_keeping_what_was_typed_and_nothing_is_entered(second_branch, operators):
    clerk = operator_client("clerk1")
    response = clerk.post("/backoffice/contracts/new", {**FORM, "add_account": "1"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_account_3_number"' in page and 'name="account_rows" value="4"' in page
    assert 'value="2345678"' in page and 'value="画面労働組合"' in page
    assert "1111" not in page  # PINs are never sent back
    assert not PendingAction.objects.exists()


def test_each_bad_account_row_is_named_and_nothing_is_entered(second_branch, operators):
    clerk = operator_client("clerk1")
    response = clerk.post(
        "/backoffice/contracts/new",
        {**FORM, "account_1_number": "12345", "account_2_number": "2345678"},  # short; a duplicate
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert 'id="error_account_0"' not in page
    assert re.search(r'id="error_account_1">[^<]*7桁', page)
    assert re.search(r'id="error_account_2">[^<]*重複', page)
    assert not PendingAction.objects.exists()


def test_no_account_at_all_is_refused_with_a_message(branch, operators):
    clerk = operator_client("clerk1")
    response = clerk.post(
        "/backoffice/contracts/new", {**FORM, "account_0_number": "", "account_1_number": ""}
    )
    assert response.status_code == 422 and 'id="error_accounts"' in response.content.decode()


def test_the_same_account_twice_is_refused_at_entry_not_at_approval(branch, operators):
    """Before, two rows of one account were entered and the approval failed on the unique constraint."""
    twice = [AccountInput("101", "1", "7777777"), AccountInput("101", "1", "7777777")]
    with pytest.raises(ValidationFailed) as refused:
        backoffice.enter_contract_registration(operators[0], application(accounts=twice))
    assert set(refused.value.fields) == {"accounts.1"}


@pytest.mark.parametrize("bad_rows", ["abc", "-1", "99999", ""])
def test_a_forged_row_count_is_no_error(branch, operators, bad_rows):
    clerk = operator_client("clerk1")
    response = clerk.post("/backoffice/contracts/new", {**FORM, "account_rows": bad_rows, "add_account": "1"})
    assert response.status_code == 200
    assert len(re.findall(r'<tr data-row="', response.content.decode())) <= 30


def test_a_forged_otp_choice_is_named_not_taken_as_none(branch, operators):
    response = operator_client("clerk1").post("/backoffice/contracts/new", {**FORM, "otp_use": "maybe"})
    assert response.status_code == 422 and 'id="error_otp_use"' in response.content.decode()
    assert not PendingAction.objects.exists()


def test_r_e9_software_tokens_are_chosen_on_the_application(branch, operators):
    clerk = operator_client("clerk1")
    clerk.post("/backoffice/contracts/new", {**FORM, "account_1_number": "", "otp_use": "software"})
    action = PendingAction.objects.get(status="pending")
    operator_client("clerk2").post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    contract = Contract.objects.get()
    assert contract.software_tokens and contract.otp_required
    assert AuditEvent.objects.filter(
        action="contract.software_tokens_enabled", contract_id=contract.pk
    ).exists()


# ---------------------------------------------------------------------------------------------------
# Item 13: the approval screen


def test_r_a1_the_approver_reads_every_field_of_a_new_contract(second_branch, operators):
    operator_client("clerk1").post("/backoffice/contracts/new", FORM)
    action = PendingAction.objects.get(status="pending")
    page = operator_client("clerk2").get(f"/backoffice/actions/{action.pk}")
    text = " ".join(visible(page).split())
    assert page.status_code == 200
    for shown in (
        "画面労働組合",
        "ｶﾞﾒﾝﾛｳﾄﾞｳｸﾐｱｲ",
        "101 本店営業部",
        "画面 花子",
        "office@example.jp",
        "ID・パスワード方式",
        "利用する（パスワード生成機）",
        "101 本店営業部 普通 2345678",
        "102 駅前支店 当座 3456789",
        "照会用暗証番号・振込振替暗証番号・確認暗証番号・承認暗証番号を登録",
        "1回あたり 5,000,000円・1日あたり 8,000,000円",  # as the clerk entered it
        "1回あたり 10,000,000円・1日あたり 30,000,000円",  # the defaults the clerk left
    ):
        assert shown in text, shown
    assert row_text(page, "limits.single_transfer").startswith("利用限度額（振込振替）")
    raw = page.content.decode()
    assert "argon2" not in raw and "pin_hashes" not in text
    for pin in PINS.values():
        assert pin not in text


def test_r_a1_approving_needs_the_confirmation_on_the_server_too(branch, operators):
    operator_client("clerk1").post("/backoffice/contracts/new", {**FORM, "account_1_number": ""})
    action = PendingAction.objects.get(status="pending")
    approver = operator_client("clerk2")
    page = approver.get(f"/backoffice/actions/{action.pk}").content.decode()
    assert 'name="confirmed"' in page and "内容を確認しました" in page
    refused = approver.post(f"/backoffice/actions/{action.pk}/approve")
    assert refused.status_code == 422
    assert 'id="error_confirmed"' in refused.content.decode()
    assert "内容を確認しました" in visible(refused)  # the entry is shown again, to be read
    action.refresh_from_db()
    assert action.status == "pending" and not Contract.objects.exists()
    assert approver.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "yes"}).status_code == 422
    letter = approver.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    assert letter.status_code == 200 and 'id="letter-initial-password"' in letter.content.decode()


def test_the_queue_has_no_one_click_approval_but_a_link_to_the_entry(master, operators):
    first, second = operator_client("clerk1"), operator_client("clerk2")
    first.post(f"/backoffice/contracts/{master.contract_id}/emergency-stop", {"reason": "PC紛失"})
    action = PendingAction.objects.get(kind="emergency_stop")
    home = second.get("/backoffice/").content.decode()
    assert f"/backoffice/actions/{action.pk}/approve" not in home
    assert f'href="/backoffice/actions/{action.pk}"' in home
    own = first.get(f"/backoffice/actions/{action.pk}")
    assert 'id="own-entry"' in own.content.decode() and 'name="confirmed"' not in own.content.decode()


def test_a_clerk_who_may_not_approve_sees_the_entry_without_the_approval(master, operators):
    make_operator("clerk3", "受付 三郎", role="clerk")
    operator_client("clerk1").post(f"/backoffice/contracts/{master.contract_id}/start-otp")
    action = PendingAction.objects.get(status="pending")
    page = operator_client("clerk3").get(f"/backoffice/actions/{action.pk}").content.decode()
    assert 'id="action-details"' in page and 'name="confirmed"' not in page


def test_r_f5_a_change_shows_what_it_is_now_and_what_it_becomes(master, operators):
    first, second = operator_client("clerk1"), operator_client("clerk2")
    first.post(f"/backoffice/contracts/{master.contract_id}/emergency-stop", {"reason": "PC紛失のため"})
    first.post(f"/backoffice/contracts/{master.contract_id}/pins", {"transfer_pin": "8642"})
    stop = PendingAction.objects.get(kind="emergency_stop")
    page = second.get(f"/backoffice/actions/{stop.pk}")
    assert row_text(page, "status") == "契約の状態 利用中 → 緊急停止中"
    assert row_text(page, "reason") == "理由 — PC紛失のため"
    pins = PendingAction.objects.get(kind="change_pins")
    page = second.get(f"/backoffice/actions/{pins.pk}")
    assert row_text(page, "pin_hashes.transfer_pin").startswith("振込振替暗証番号 変更する")
    assert row_text(page, "pin_hashes.inquiry_pin") == "照会用暗証番号 変更しない"
    assert "8642" not in page.content.decode()
    second.post(f"/backoffice/actions/{stop.pk}/approve", {"confirmed": "1"})
    decided = second.get(f"/backoffice/actions/{stop.pk}")
    # Once decided, "now" is after the change: only what was entered shows.
    assert row_text(decided, "status") == "契約の状態 緊急停止中"
    assert "承認済" in visible(decided) and 'name="confirmed"' not in decided.content.decode()


def test_r_b8_the_master_initialization_shows_the_login_id_it_clears(master, operators):
    operator_client("clerk1").post(f"/backoffice/contracts/{master.contract_id}/initialize-master")
    action = PendingAction.objects.get(status="pending")
    page = operator_client("clerk2").get(f"/backoffice/actions/{action.pk}")
    assert row_text(page, "master") == f"マスターユーザ — 組合 太郎（ログインID {MASTER_LOGIN_ID}）"
    assert row_text(page, "login_id").startswith(f"ログインID {MASTER_LOGIN_ID} → 消去")
    assert row_text(page, "status") == "状態 利用中 → 初回登録待ち"


def test_every_registered_procedure_shows_its_entry_in_labelled_rows():
    """Every kind in the engine's registry declares its details: none falls back to the bare summary."""
    assert engine.registered_kinds() >= {"register_contract", "emergency_stop", "ship_tokens"}
    bare = [
        kind
        for kind in sorted(engine.registered_kinds())
        if type(engine.procedure_for(kind)).details is engine.Procedure.details
    ]
    assert bare == []


@pytest.mark.parametrize(
    "procedure",
    [
        "start-otp",
        "start-software-tokens",
        "initialize-master",
        "lift-master-lock",
        "lift-master-token-lock",
        "reset-master-questions",
        "emergency-stop",
    ],
)
def test_each_procedure_entered_on_the_screen_is_shown_labelled(master, operators, procedure):
    if procedure == "lift-master-token-lock":  # something to lift: a token stopped at registration
        stopped_while_registering(operators, master)
    operator_client("clerk1").post(
        f"/backoffice/contracts/{master.contract_id}/{procedure}", {"reason": "届出"}
    )
    action = PendingAction.objects.get(status="pending")
    page = operator_client("clerk2").get(f"/backoffice/actions/{action.pk}")
    rows = re.findall(r'<tr data-name="([^"]+)"[^>]*>\s*<th scope="row">([^<]*)</th>', page.content.decode())
    assert rows and all(label.strip() for _, label in rows)


def test_an_unknown_action_is_a_page_not_an_error(operators):
    response = operator_client("clerk2").get("/backoffice/actions/999999")
    assert response.status_code == 404 and "手続が見つかりません" in visible(response)


def test_the_approval_screen_in_english(master, operators):
    operator_client("clerk1").post(
        f"/backoffice/contracts/{master.contract_id}/emergency-stop", {"reason": "x"}
    )
    action = PendingAction.objects.get(status="pending")
    page = operator_client("clerk2", english=True).get(f"/backoffice/actions/{action.pk}")
    text = visible(page)
    assert "I have checked the entry" in text
    assert row_text(page, "status") == "Contract status Active → Emergency stopped"


def test_r_a1_the_api_shows_the_entry_and_approves_only_when_confirmed(master, operators):
    clerks = [api_operator("clerk1"), api_operator("clerk2")]
    status, entered = clerks[0].post(
        f"/backoffice/contracts/{master.contract_id}/procedures/emergency-stop", {"reason": "紛失"}
    )
    assert status == 202
    status, shown = clerks[1].get(f"/backoffice/actions/{entered['id']}")
    assert status == 200 and shown["may_decide"] is True
    assert {"name": "status", "label": "契約の状態", "value": "緊急停止中", "before": "利用中"} in shown[
        "details"
    ]
    status, body = clerks[1].post(f"/backoffice/actions/{entered['id']}/approve")
    assert (
        status == 422
        and body["error"]["code"] == "validation_failed"
        and "confirmed" in body["error"]["fields"]
    )
    for not_true in ("yes", "true", 1, False):  # JSON true only
        status, body = clerks[1].post(f"/backoffice/actions/{entered['id']}/approve", {"confirmed": not_true})
        assert status == 422, not_true
    assert Contract.objects.get(pk=master.contract_id).status == "active"
    status, decided = clerks[1].post(f"/backoffice/actions/{entered['id']}/approve", {"confirmed": True})
    assert status == 200 and decided["action"]["status"] == "approved"
    assert clerks[1].get("/backoffice/actions/999999")[0] == 404


# ---------------------------------------------------------------------------------------------------
# Item 14: the audit log in the bank's words


def test_r_i3_the_audit_log_reads_in_the_banks_words(master, operators):
    page = operator_client("clerk1").get("/backoffice/audit", {"contract_number": master.contract.number})
    text = visible(page)
    assert page.status_code == 200
    assert "マスターユーザの初回登録" in text and "契約の新規登録" in text
    assert "master.registered" not in text and "contract.registered" not in text
    assert "master of" not in text  # the actor by name and login ID
    assert f"組合 太郎（ログインID {MASTER_LOGIN_ID}）" in text
    assert "承認 二郎（職員 clerk2）" in text
    assert "{'" not in text and "{&#x27;" not in page.content.decode()  # never a Python dict
    assert f"ログインID {MASTER_LOGIN_ID}" in text or MASTER_LOGIN_ID in text


def test_r_i3_details_are_labelled_values(master, operators):
    with transaction.atomic():
        audit.record(
            "principal.locked",
            actor=audit.Actor.customer(master, "192.0.2.1"),
            subject_user_id=master.pk,
            contract_id=master.contract_id,
            details={"kind": "login_password", "lockouts": 1, "until": timezone.now() + timedelta(hours=1)},
        )
    page = operator_client("clerk1").get("/backoffice/audit", {"action": "principal.locked"})
    details = re.search(r'<td class="details">(.*?)</td>', page.content.decode(), flags=re.S).group(1)
    labels = re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", details)
    assert [label for label, _ in labels] == ["種類", "連続ロックアウト回数", "解除予定日時"]
    assert labels[0][1] == "ログインパスワード"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d", labels[2][1])
    assert "注意" in visible(page)  # 結果


def test_r_i3_a_procedures_events_name_it_and_link_to_it(master, operators):
    operator_client("clerk1").post(f"/backoffice/contracts/{master.contract_id}/start-otp")
    action = PendingAction.objects.get(status="pending")
    page = operator_client("clerk2").get("/backoffice/audit", {"action": "backoffice.entered"})
    assert f'href="/backoffice/actions/{action.pk}"' in page.content.decode()
    assert "ワンタイムパスワードの利用開始" in visible(page)
    assert "start_otp" not in visible(page)


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        ({"date_from": "2025-13-01"}, "date_from"),
        ({"date_to": "昨日"}, "date_to"),
        ({"date_from": "2025-04-02", "date_to": "2025-04-01"}, "date_to"),
        ({"contract_number": "12ab"}, "contract_number"),
        ({"action": "no.such_event"}, "action"),
    ],
)
def test_bad_filters_are_told_by_field(operators, criteria, field):
    response = operator_client("clerk1").get("/backoffice/audit", criteria)
    assert response.status_code == 422
    assert f'id="error_{field}"' in response.content.decode()


def test_r_i3_filters_in_the_clerks_words(master, operators):
    clerk = operator_client("clerk1")
    today = timezone.localdate()
    by_group = clerk.get("/backoffice/audit", {"action": "group:authentication"}).content.decode()
    actions = set(re.findall(r'data-action="([^"]+)"', by_group))
    assert actions and actions <= set(audit_labels.events_of("authentication"))
    by_actor = clerk.get("/backoffice/audit", {"actor": "承認 二郎"}).content.decode()
    events = AuditEvent.objects.filter(actor_type="operator", actor_id=operators[1].pk)
    assert set(map(int, re.findall(r'data-event="(\d+)"', by_actor))) == set(
        events.values_list("pk", flat=True)
    )
    by_login_id = clerk.get("/backoffice/audit", {"login_id": f"　{MASTER_LOGIN_ID}"}).content.decode()
    assert (
        'data-action="master.registered"' in by_login_id and 'data-action="operator.login"' not in by_login_id
    )
    in_period = clerk.get("/backoffice/audit", {"date_from": today.isoformat(), "date_to": today.isoformat()})
    assert 'data-action="master.registered"' in in_period.content.decode()
    before = clerk.get("/backoffice/audit", {"date_to": (today - timedelta(days=1)).strftime("%Y/%m/%d")})
    assert before.status_code == 200 and "data-event=" not in before.content.decode()
    by_system = clerk.get("/backoffice/audit", {"actor": "システム"}).content.decode()
    assert 'data-action="operator.created"' in by_system


def test_r_i3_the_log_comes_a_page_at_a_time(operators):
    with transaction.atomic():
        for number in range(60):
            audit.record(
                "token.stocked", actor=audit.Actor.system("test"), details={"serial": f"PG{number:04d}"}
            )
    clerk = operator_client("clerk1")
    first = clerk.get("/backoffice/audit", {"action": "token.stocked"}).content.decode()
    assert len(re.findall(r"data-event=", first)) == 50 and "PG0059" in first and "PG0009" not in first
    assert 'href="?action=token.stocked&amp;page=2"' in first
    second = clerk.get("/backoffice/audit", {"action": "token.stocked", "page": "2"}).content.decode()
    assert len(re.findall(r"data-event=", second)) == 10 and "PG0000" in second
    assert clerk.get("/backoffice/audit", {"page": "x"}).status_code == 200


def test_r_i3_the_audit_log_in_english(master, operators):
    text = visible(operator_client("clerk1", english=True).get("/backoffice/audit"))
    assert "Master user's first registration" in text and "Operator login" in text


def test_r_i3_the_customers_login_history_uses_the_same_labels(master, operators, client):
    """A refused login was shown as its code (login.refused_contract_not_active)."""
    backoffice.approve(
        operators[1], backoffice.enter_emergency_stop(operators[0], master.contract_id, reason="x").pk
    )
    client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    backoffice.approve(
        operators[0], backoffice.enter_emergency_stop_lift(operators[1], master.contract_id).pk
    )
    client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    text = visible(client.get("/settings/login-history"))
    assert "ログインの拒否（契約が利用中ではない）" in text and "login.refused" not in text


def test_r_i3_the_api_names_each_event(master, operators):
    client = api_operator("clerk1")
    status, events = client.get(
        f"/backoffice/audit?action=group:users&contract_number={master.contract.number}"
    )
    assert status == 200 and events
    assert {event["action_label"] for event in events} >= {"マスターユーザの初回登録"}


# ---------------------------------------------------------------------------------------------------
# Every event has its label: the sources are read for the names they record


def _recorded_event_names() -> tuple[set[str], set[str]]:
    """(names, patterns) recorded by ``record(...)`` calls in the sources: a constant name; a variable
    assigned or passed (``action=``) a constant; an f-string as a pattern."""
    names: set[str] = set()
    patterns: set[str] = set()
    trees = {
        path: ast.parse(path.read_text()) for path in SOURCES.rglob("*.py") if "migrations" not in path.parts
    }

    def constants_for(name: str, scope: ast.AST, function: str | None) -> set[str]:
        found = set()
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    targets = target.elts if isinstance(target, ast.Tuple) else [target]
                    values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                    for each, value in zip(targets, values, strict=False):
                        if isinstance(each, ast.Name) and each.id == name and isinstance(value, ast.Constant):
                            found.add(value.value)
        if function is not None:  # a parameter: what its callers pass
            for tree in trees.values():
                for node in ast.walk(tree):
                    callee = getattr(node, "func", None)
                    called = getattr(callee, "attr", getattr(callee, "id", None))
                    if isinstance(node, ast.Call) and called == function:
                        for keyword in node.keywords:
                            if keyword.arg == name and isinstance(keyword.value, ast.Constant):
                                found.add(keyword.value.value)
        return found

    for tree in trees.values():
        for function in [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]:
            parameters = {argument.arg for argument in function.args.args + function.args.kwonlyargs}
            for node in ast.walk(function):
                if not (isinstance(node, ast.Call) and node.args):
                    continue
                callee = node.func
                if getattr(callee, "attr", getattr(callee, "id", None)) != "record":
                    continue
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.add(first.value)
                elif isinstance(first, ast.Name):
                    names |= constants_for(
                        first.id, function, function.name if first.id in parameters else None
                    )
                elif isinstance(first, ast.JoinedStr):
                    patterns.add(
                        "".join(
                            re.escape(part.value) if isinstance(part, ast.Constant) else "[a-z_]+"
                            for part in first.values
                        )
                    )
    return names, patterns


def test_r_i3_every_event_recorded_anywhere_has_a_label():
    names, patterns = _recorded_event_names()
    assert {
        "login.succeeded",
        "master.registered",
        "token.registered",
        "login.refused_contract_not_active",
    } <= names
    assert not names - set(audit_labels.EVENTS), "events without a label in core/audit_labels.py"
    for pattern in patterns:
        assert any(re.fullmatch(pattern, name) for name in audit_labels.EVENTS), pattern
    for procedure in map(engine.procedure_for, engine.registered_kinds()):
        for decision in ("entered", "approved", "rejected"):
            assert f"{procedure.decider_rule.audit_prefix}.{decision}" in audit_labels.EVENTS


def test_r_i3_every_detail_recorded_anywhere_has_a_label():
    keys = set()
    for path in SOURCES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", None)) == "record"
            ):
                for keyword in node.keywords:
                    if keyword.arg == "details" and isinstance(keyword.value, ast.Dict):
                        keys |= {key.value for key in keyword.value.keys if isinstance(key, ast.Constant)}
    assert {"action_id", "kind", "serial"} <= keys
    assert not keys - set(audit_labels.DETAIL_LABELS), "details without a label in core/audit_labels.py"


def test_an_unknown_event_shows_under_its_code(operators):
    with transaction.atomic():
        audit.record("something.new", actor=audit.Actor.system(), details={"odd": [1, {"x": None}]})
    response = operator_client("clerk1").get("/backoffice/audit")
    assert response.status_code == 200 and "something.new" in visible(response)


@pytest.mark.parametrize(
    "typed",
    [
        {"date_from": "99999999999999999999-1-1"},
        {"date_to": "2025-13-01"},
        {"date_from": "２０２５－０４－０１－０１"},
        {"contract_number": "٢٠٥٠٠٠٠٠٠٢"},  # Arabic-Indic digits: no contract number
    ],
)
def test_r_i3_bad_filters_get_a_message_on_their_field_never_a_500(operators, typed):
    page = operator_client("clerk1").get("/backoffice/audit", typed)
    assert page.status_code == 422
    assert f'id="error_{next(iter(typed))}"' in page.content.decode()


def test_r_i3_whom_a_lock_was_lifted_for_and_which_accounts_were_released_read_in_words(master, operators):
    with transaction.atomic():
        for action, details in (
            ("principal.lock_lifted", {"reason": "lifted by master", "principal": "customer_user"}),
            (
                "contract.terminated",
                {"accounts_released": [{"branch": "101", "type": "2", "number": "7654321"}]},
            ),
        ):
            audit.record(
                action, actor=audit.Actor.system("test"), contract_id=master.contract_id, details=details
            )
    text = visible(
        operator_client("clerk1").get("/backoffice/audit", {"contract_number": master.contract.number})
    )
    assert "Customer User" not in text and "対象利用者" in text.replace(" ", "").replace("\n", "")
    assert "101 当座 7654321" in text


def test_r_f5_an_emergency_stop_without_its_reason_says_so_on_the_contract_page(master, operators):
    """The review of stop 22: the page said only 「入力内容をご確認ください。」."""
    clerk = operator_client("clerk1")
    page = clerk.post(
        f"/backoffice/contracts/{master.contract_id}/emergency-stop", {"reason": ""}, follow=True
    )
    assert "理由を入力してください" in visible(page)
    assert not PendingAction.objects.filter(status="pending").exists()
    assert 'name="reason" maxlength="200" required' in page.content.decode()


def stopped_while_registering(operators, user, serial: str = "HW00000009") -> str:  # type: ignore[no-untyped-def]
    """A token shipped to the user's contract and stopped by the user's wrong codes at
    ワンタイムパスワード利用登録, before any registration (R-C4: ten in a row)."""
    from corpbank.core.errors import DomainError
    from corpbank.tokens import services as tokens

    ship_tokens(operators, user.contract, serial)
    for _ in range(10):
        with contextlib.suppress(DomainError):
            tokens.register_for_user(user=user, serial=serial, code="000000")
    assert Principal.objects.get(token__serial=serial).is_suspended
    return serial


def test_r_c4_a_token_stopped_while_being_registered_is_lifted_by_the_paper_procedure(master, operators):
    """A browser walk: ten wrong codes at ワンタイムパスワード利用登録 stopped a shipped token before any
    registration; the procedure the customer is told to file was then refused at approval."""
    serial = stopped_while_registering(operators, master)
    clerk, approver = operator_client("clerk1"), operator_client("clerk2")
    clerk.post(f"/backoffice/contracts/{master.contract_id}/lift-master-token-lock")
    action = PendingAction.objects.get(status="pending", kind="lift_master_token_lock")
    assert serial in visible(approver.get(f"/backoffice/actions/{action.pk}"))
    approver.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    assert PendingAction.objects.get(pk=action.pk).status == "approved"
    assert not Principal.objects.get(token__serial=serial).is_suspended
    # Nothing stopped and nothing registered: the entry is refused rather than failing at approval.
    page = clerk.post(f"/backoffice/contracts/{master.contract_id}/lift-master-token-lock", follow=True)
    assert "パスワード生成機がありません" in visible(page)


def test_r_i3_the_audit_log_finds_and_names_a_user_by_the_login_id_of_the_time(master, operators):
    """A browser walk: after マスターユーザの初期化 the master registered another login ID, and the audit
    log showed (and searched) every past event under the new one only."""
    from corpbank.backoffice import selectors as backoffice_selectors
    from corpbank.organizations.models import CustomerUser

    with transaction.atomic():
        audit.record(
            "secret_questions.registered", actor=audit.Actor.customer(master), subject_user_id=master.pk
        )
    CustomerUser.objects.filter(pk=master.pk).update(login_id="yamada02")
    found = backoffice_selectors.search_audit(login_id=MASTER_LOGIN_ID)
    assert [event.action for event in found if event.action == "secret_questions.registered"]
    rows = backoffice_selectors.audit_rows(found)
    assert any(f"ログインID {MASTER_LOGIN_ID}：当時" in row.actor for row in rows)
    # Under the new ID, the same person's past is found too.
    assert any(
        e.action == "secret_questions.registered"
        for e in backoffice_selectors.search_audit(login_id="yamada02")
    )


def test_r_a1_the_entrant_withdraws_an_entry_nobody_else_may_decide(master, operators):
    """A browser walk: with two administrators, one's entry about the other could be decided by
    nobody and blocked every other procedure about that operator. The entrant takes it back (取消),
    before a decision only, and only their own."""
    clerk, other = operator_client("clerk1"), operator_client("clerk2")
    clerk.post(f"/backoffice/contracts/{master.contract_id}/emergency-stop", {"reason": "誤入力"})
    action = PendingAction.objects.get(status="pending")
    assert 'id="withdraw"' in clerk.get(f"/backoffice/actions/{action.pk}").content.decode()
    assert 'id="withdraw"' not in other.get(f"/backoffice/actions/{action.pk}").content.decode()
    other.post(f"/backoffice/actions/{action.pk}/withdraw")  # not theirs
    assert PendingAction.objects.get(pk=action.pk).status == "pending"
    page = clerk.post(f"/backoffice/actions/{action.pk}/withdraw", follow=True)
    assert "取り消しました" in visible(page)
    withdrawn = PendingAction.objects.get(pk=action.pk)
    assert withdrawn.status == "withdrawn" and withdrawn.decided_by is None and withdrawn.decided_at
    assert AuditEvent.objects.filter(action="backoffice.withdrawn", details__action_id=action.pk).exists()
    # Decided (or taken back) once: nothing more happens to it, and a new entry may follow.
    assert "既に処理されています" in visible(
        other.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"}, follow=True)
    )
    clerk.post(f"/backoffice/contracts/{master.contract_id}/emergency-stop", {"reason": "PC紛失"})
    assert PendingAction.objects.filter(status="pending").count() == 1


def test_r_a1_the_api_withdraws_too(master, operators):
    clerks = [api_operator("clerk1"), api_operator("clerk2")]
    status, action = clerks[0].post(
        f"/backoffice/contracts/{master.contract_id}/procedures/emergency-stop", {"reason": "誤入力"}
    )
    assert status == 202
    assert clerks[1].post(f"/backoffice/actions/{action['id']}/withdraw")[0] == 403
    status, body = clerks[0].post(f"/backoffice/actions/{action['id']}/withdraw")
    assert status == 200 and body["status"] == "withdrawn"
    assert clerks[0].post(f"/backoffice/actions/{action['id']}/withdraw")[0] == 409


def test_r_e1_a_token_in_another_pending_shipment_is_refused_at_entry(master, operators):
    """A back-office walk: one token entered in three pending shipments; the later ones could only fail
    at approval."""
    from corpbank.tokens import services as tokens
    from tests.conftest import TOKEN_SEED

    with transaction.atomic():
        tokens.add_to_stock(serial="HW00000001", seed=TOKEN_SEED, actor=audit.Actor.system("test"))
    backoffice.enter_token_shipment(operators[0], master.contract_id, ["HW00000001"])
    with pytest.raises(ValidationFailed) as refused:
        backoffice.enter_token_shipment(operators[0], master.contract_id, ["ＨＷ００００００01"])
    assert "承認待ち" in refused.value.fields["serials"] and "HW00000001" in refused.value.fields["serials"]


def test_r_a1_a_rejection_says_why(master, operators):
    """A back-office walk: a rejected entry showed no reason, and one rejected by an operator's stop
    named an administrator who could not have decided it."""
    clerk, approver = operator_client("clerk1"), operator_client("clerk2")
    clerk.post(f"/backoffice/contracts/{master.contract_id}/emergency-stop", {"reason": "PC紛失"})
    action = PendingAction.objects.get(status="pending")
    assert 'id="id_reject_reason"' in approver.get(f"/backoffice/actions/{action.pk}").content.decode()
    page = approver.post(f"/backoffice/actions/{action.pk}/reject", {"reason": "長" * 201}, follow=True)
    assert "200文字以内" in visible(page) and PendingAction.objects.get(pk=action.pk).status == "pending"
    approver.post(f"/backoffice/actions/{action.pk}/reject", {"reason": "届出書の印鑑相違"})
    rejected = PendingAction.objects.get(pk=action.pk)
    assert rejected.status == "rejected" and rejected.decision_reason == "届出書の印鑑相違"
    assert "届出書の印鑑相違" in visible(clerk.get(f"/backoffice/actions/{action.pk}"))
    event = AuditEvent.objects.get(action="backoffice.rejected", details__action_id=action.pk)
    assert event.details["reason"] == "届出書の印鑑相違"


def test_r_a1_the_api_rejects_with_or_without_a_reason(master, operators):
    clerks = [api_operator("clerk1"), api_operator("clerk2")]
    path = f"/backoffice/contracts/{master.contract_id}/procedures/"
    first = clerks[0].post(path + "emergency-stop", {"reason": "PC紛失"})[1]
    status, body = clerks[1].post(f"/backoffice/actions/{first['id']}/reject", {"reason": "重複"})
    assert status == 200 and body["decision_reason"] == "重複"
    second = clerks[0].post(path + "emergency-stop", {"reason": "PC紛失"})[1]
    status, body = clerks[1].post(f"/backoffice/actions/{second['id']}/reject")
    assert status == 200 and body["status"] == "rejected" and body["decision_reason"] == ""


def test_r_c4_a_lift_for_one_user_never_lifts_a_token_another_user_stopped(master, general, operators):
    """The review of stop 22: a stopped token nobody registered was lifted for whichever user the
    lift named (the master's own stop, through any general user, with the confirmation password)."""
    from corpbank.tokens import selectors as token_selectors

    stopped_while_registering(operators, master, "HW00000008")
    assert token_selectors.tokens_to_lift(general) == []
    assert [token.serial for token in token_selectors.tokens_to_lift(master)] == ["HW00000008"]
