"""What a person types, at 10,000 characters, in 全角, empty and with a NUL byte: a message on the
field or a refusal, never a 500, on both databases (issue 12; SQLite does not enforce a column's
length, PostgreSQL does)."""

from __future__ import annotations

import pytest

from corpbank.approvals.models import PendingAction
from corpbank.organizations.models import CustomerUser
from tests.conftest import MASTER_CONFIRMATION, MASTER_LOGIN_ID, MASTER_PASSWORD, Client, operator_signed_in

LONG = "あ" * 10_000
TYPED = [LONG, "Ｘ" * 10_000, "", "ab\x00c"]


def master_client() -> Client:
    client = Client()
    client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    return client


@pytest.mark.parametrize("typed", TYPED)
def test_a_users_name_of_any_length_is_a_message_never_a_500(master, typed):
    form = {
        "login_id": "staff001",
        "name": typed,
        "login_password": "Init1login",
        "user_confirmation_password": "Init1conf",
        "confirmation_password": MASTER_CONFIRMATION,
    }
    page = master_client().post("/admin/users/new", form)
    assert page.status_code == 422
    assert not CustomerUser.objects.filter(login_id="staff001").exists()


@pytest.mark.parametrize("typed", TYPED)
@pytest.mark.parametrize("field", ["login_id", "login_password", "user_confirmation_password"])
def test_a_new_users_codes_of_any_length_are_a_message(master, typed, field):
    form = {
        "login_id": "staff001",
        "name": "一般",
        "login_password": "Init1login",
        "user_confirmation_password": "Init1conf",
        "confirmation_password": MASTER_CONFIRMATION,
        field: typed,
    }
    assert master_client().post("/admin/users/new", form).status_code == 422


@pytest.mark.parametrize("typed", TYPED)
@pytest.mark.parametrize("field", ["login_id", "password"])
def test_the_login_of_any_length_answers_never_a_500(master, typed, field):
    form = {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD, field: typed}
    assert Client().post("/login", form).status_code in (401, 422)


@pytest.mark.parametrize("typed", TYPED)
@pytest.mark.parametrize("path", ["emergency-stop", "terminate"])
def test_a_reason_of_any_length_is_a_message_or_kept_whole(master, operators, typed, path):
    response = operator_signed_in(Client(), "clerk1").post(
        f"/backoffice/contracts/{master.contract_id}/{path}", {"reason": typed}
    )
    assert response.status_code in (302, 409, 422)


@pytest.mark.parametrize("typed", TYPED)
@pytest.mark.parametrize(
    "field", ["organization_name", "organization_name_kana", "master_name", "notification_email"]
)
def test_a_new_contracts_texts_of_any_length_are_a_message(branch, operators, typed, field):
    form = {
        "organization_name": "長文労働組合",
        "organization_name_kana": "ﾁｮｳﾌﾞﾝ",
        "branch_code": "101",
        "master_name": "長文 太郎",
        "account_rows": "1",
        "account_0_branch": "101",
        "account_0_type": "1",
        "account_0_number": "7777777",
        "login_method": "password",
        "otp_use": "none",
        "inquiry_pin": "1357",
        "transfer_pin": "2468",
        "confirmation_pin": "1470",
        "approval_pin": "2580",
        field: typed,
    }
    response = operator_signed_in(Client(), "clerk1").post("/backoffice/contracts/new", form)
    if field == "notification_email" and typed == "":  # the one text an application may leave out
        assert response.status_code == 302
        assert PendingAction.objects.filter(kind="register_contract").exists()
    else:  # past its column, empty or unreadable: told at entry, never a failure at approval
        assert response.status_code == 422
        assert not PendingAction.objects.exists()


@pytest.mark.parametrize(("length", "status"), [(60, 302), (61, 422)])
def test_r_a3_a_users_name_is_kept_up_to_its_columns_length(master, length, status):
    form = {
        "login_id": "staff001",
        "name": "名" * length,
        "login_password": "Init1login",
        "user_confirmation_password": "Init1conf",
        "confirmation_password": MASTER_CONFIRMATION,
    }
    page = master_client().post("/admin/users/new", form)
    assert page.status_code == status
    if status == 422:
        assert "利用者名は60文字以内で入力してください。" in page.content.decode()


@pytest.mark.parametrize("typed", TYPED)
def test_r_a1_a_rejection_reason_of_any_length_is_kept_whole_or_refused(master, operators, typed):
    """却下の理由 (stop 22): at most 200 characters kept whole, a longer one refused with the entry
    still pending, a NUL refused at the edge; never cut, never a 500."""
    operator_signed_in(Client(), "clerk1").post(
        f"/backoffice/contracts/{master.contract_id}/emergency-stop", {"reason": "PC紛失"}
    )
    action = PendingAction.objects.get(status="pending")
    response = operator_signed_in(Client(), "clerk2").post(
        f"/backoffice/actions/{action.pk}/reject", {"reason": typed}
    )
    action.refresh_from_db()
    if typed == "":
        assert response.status_code == 302 and action.status == "rejected" and action.decision_reason == ""
    else:
        assert response.status_code in (302, 422) and action.status == "pending", response.status_code
