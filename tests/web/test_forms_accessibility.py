"""The master's forms ask exactly what the operation table asks (R-B3, R-E2, issue 12 item 12), and a
form's errors are tied to their inputs and take the focus (issue 12 item 15)."""

from __future__ import annotations

import re

import pytest

from corpbank.authorization.operations import REQUIREMENTS, Operation
from corpbank.core.models import AuditEvent
from corpbank.identity.models import FailureCounter
from corpbank.organizations import services as users
from corpbank.organizations.models import CustomerUser
from tests.conftest import (
    GENERAL_INITIAL,
    GENERAL_LOGIN_ID,
    MASTER_CONFIRMATION,
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    Client,
    code_now,
)

# Every master operation of the table, and the page whose form carries it out ({user}: a general user).
MASTER_FORMS = {
    Operation.ADD_USER: "/admin/users/new",
    Operation.CHANGE_USER: "/admin/users/{user}",
    Operation.DELETE_USER: "/admin/users/{user}/delete",
    Operation.RESET_USER_CREDENTIALS: "/admin/users/{user}/reset",
    Operation.LIFT_USER_LOCK: "/admin/users/{user}/unlock",
    Operation.RESET_SECRET_QUESTIONS: "/admin/users/{user}/questions-reset",
    Operation.TOKEN_REVOCATION: "/admin/otp/{user}/revoke",
    Operation.LIFT_TOKEN_LOCK: "/admin/otp/{user}/unlock",
    Operation.CERTIFICATE_ISSUANCE: "/admin/certificates/{user}/enable",
    Operation.CERTIFICATE_REVOCATION: "/admin/certificates/{user}/revoke",
}
# Every name a factor can have: the secrets any row asks for, and the one-time password.
FACTOR_NAMES = {str(kind) for row in REQUIREMENTS.values() for kind in row.secrets} | {"otp"}


def test_every_master_operation_of_the_table_has_a_form_checked_here():
    assert set(MASTER_FORMS) == {operation for operation, row in REQUIREMENTS.items() if row.master_only}


def input_names(page: str) -> list[str]:
    form = page[page.index('<form method="post" novalidate>') :]
    return re.findall(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"', form)


def master_signed_in(master: CustomerUser) -> Client:
    client = Client()
    client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    if master.contract.otp_required:
        client.post("/settings/otp/register", {"serial": "HW00000001", "otp": code_now()})
    return client


@pytest.fixture(params=[False, True], ids=["without_otp", "with_otp"])
def signed_in(request: pytest.FixtureRequest, db: None, clock) -> tuple[Client, CustomerUser, CustomerUser]:  # type: ignore[no-untyped-def]
    """(the master's browser, the master, a general user) on a contract without and with OTP."""
    master = request.getfixturevalue("otp_master" if request.param else "master")
    client = master_signed_in(master)
    clock(60)  # a new time step: the registration's code is spent
    factors = {"confirmation_password": MASTER_CONFIRMATION}
    if master.contract.otp_required:
        factors["otp"] = code_now()
    general = users.add_general_user(
        master=master, factors=factors, login_id=GENERAL_LOGIN_ID, name="一般", **GENERAL_INITIAL
    )
    return client, master, general


@pytest.mark.parametrize("operation", list(MASTER_FORMS))
def test_r_e2_a_master_form_shows_exactly_the_factors_of_the_operation_table(signed_in, operation):
    """No OTP field on a form whose operation does not check one (利用停止解除, パスワード再設定, 削除,
    追加認証のリセット …): what would be typed there could only be ignored."""
    client, master, general = signed_in
    page = client.get(MASTER_FORMS[operation].format(user=general.pk))
    assert page.status_code == 200
    asked = [name for name in input_names(page.content.decode()) if name in FACTOR_NAMES]
    row = REQUIREMENTS[operation]
    assert asked == [*row.secrets, *(["otp"] if row.otp and master.contract.otp_required else [])]


def otp_master_with_a_general_user(otp_master: CustomerUser, clock) -> tuple[Client, CustomerUser]:  # type: ignore[no-untyped-def]
    """The OTP contract's master signed in, and a general user the master added (its code now spent)."""
    client = master_signed_in(otp_master)
    clock(60)
    general = users.add_general_user(
        master=otp_master,
        factors={"confirmation_password": MASTER_CONFIRMATION, "otp": code_now()},
        login_id=GENERAL_LOGIN_ID,
        name="一般",
        **GENERAL_INITIAL,
    )
    return client, general


def test_r_e2_the_lift_of_a_lock_on_an_otp_contract_asks_no_otp(otp_master, clock):
    client, general = otp_master_with_a_general_user(otp_master, clock)
    page = client.get(f"/admin/users/{general.pk}/unlock").content.decode()
    assert 'name="otp"' not in page and 'name="confirmation_password"' in page
    page = client.get(f"/admin/users/{general.pk}").content.decode()  # 利用者の変更 asks one
    assert 'name="otp"' in page


def input_tag(page: str, name: str) -> str:
    found = re.search(rf'<(?:input|select)\b[^>]*\bname="{name}"[^>]*>', page)
    assert found, name
    return found.group(0)


def attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'\b{name}="([^"]*)"', tag)
    return found.group(1) if found else None


def test_field_errors_are_tied_to_their_inputs_and_the_first_takes_the_focus(master, client):
    client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    response = client.post(
        "/admin/users/new",
        {"login_id": "ab", "name": "新人", "login_password": "short", "user_confirmation_password": "x"},
    )
    page = response.content.decode()
    assert response.status_code == 422
    login_id = input_tag(page, "login_id")
    assert attribute(login_id, "aria-invalid") == "true"
    described = (attribute(login_id, "aria-describedby") or "").split()
    assert described == ["hint_login_id", "error_login_id"]
    for id_ in described:
        assert f'id="{id_}"' in page
    assert re.search(r'id="error_login_id">[^<]+<', page)
    assert " autofocus" in login_id  # the first field in error, and only it
    assert page.count(" autofocus") == 1
    password = input_tag(page, "login_password")
    assert attribute(password, "aria-invalid") == "true"
    assert "error_login_password" in (attribute(password, "aria-describedby") or "")
    name = input_tag(page, "name")
    assert attribute(name, "aria-invalid") is None and attribute(name, "aria-describedby") is None
    # The alert sums the errors up, each a link to its input.
    alert = page[page.index('id="error"') : page.index("</div>", page.index('id="error"'))]
    assert 'href="#id_login_id"' in alert and 'href="#id_login_password"' in alert
    assert 'role="alert"' in page


def test_a_hint_is_tied_to_its_input_without_an_error(master, client):
    client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    page = client.get("/admin/users/new").content.decode()
    login_id = input_tag(page, "login_id")
    assert attribute(login_id, "aria-describedby") == "hint_login_id" and 'id="hint_login_id"' in page
    assert attribute(login_id, "aria-invalid") is None and " autofocus" not in page


def test_an_error_of_no_field_puts_the_focus_on_the_alert(master, client):
    page = client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": "Wrong1pass"}).content.decode()
    alert = re.search(r'<div class="alert"[^>]*>', page)
    assert alert and 'role="alert"' in alert.group(0)
    assert 'tabindex="-1"' in alert.group(0) and " autofocus" in alert.group(0)
    assert page.count(" autofocus") == 1


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        (
            {"new_login_password": "New1login", "new_login_password_again": "New1logix"},
            "new_login_password_again",
        ),
        ({"new_login_password": "ab1", "new_login_password_again": "ab1"}, "new_login_password"),
        (
            {"new_login_password": GENERAL_LOGIN_ID, "new_login_password_again": GENERAL_LOGIN_ID},
            "new_login_password",
        ),
        (
            {
                "new_login_password": "New1login",
                "new_login_password_again": "New1login",
                "new_confirmation_password": "New1login",
                "new_confirmation_password_again": "New1login",
            },
            "new_confirmation_password",
        ),
    ],
)
def test_r_b6_the_password_change_says_on_its_field_what_is_wrong(general, typed, field):
    """The forced change at the first login (R-B6) names the field and the rule, not only 「入力内容を
    ご確認ください」: the rules' messages reach the form's fields (new_*), as they reach the API's."""
    client = Client()
    client.post("/login", {"login_id": GENERAL_LOGIN_ID, "password": GENERAL_INITIAL["login_password"]})
    current = {
        "current_login_password": GENERAL_INITIAL["login_password"],
        "current_confirmation_password": GENERAL_INITIAL["confirmation_password"],
    }
    # The first login replaces both initial passwords: a valid new confirmation password unless the
    # case is about it.
    other = {"new_confirmation_password": "New1confirm", "new_confirmation_password_again": "New1confirm"}
    page = client.post("/settings/password", {**current, **other, **typed})
    assert page.status_code == 422
    html = page.content.decode()
    assert f'id="error_{field}"' in html and f'href="#id_{field}"' in html


def test_r_c1_an_empty_factor_is_asked_for_on_its_field_and_counted_against_nobody(signed_in):
    """利用停止解除 sent with the confirmation password left empty: a slip, not a wrong password that
    six times would lock the master out (R-C1)."""
    client, _master, general = signed_in
    page = client.post(f"/admin/users/{general.pk}/unlock", {"confirmation_password": ""})
    assert page.status_code == 422 and 'id="error_confirmation_password"' in page.content.decode()
    assert not FailureCounter.objects.filter(consecutive_failures__gt=0).exists()
    assert not AuditEvent.objects.filter(action="secret.rejected").exists()


def test_r_c6_a_refused_otp_form_says_a_code_is_good_once_without_saying_which_factor(otp_master, clock):
    """A code typed again within its minute (a second operation) is refused like a wrong one, never
    telling the factors apart (R-C6); the alert says each code is good once."""
    client, general = otp_master_with_a_general_user(otp_master, clock)
    spent = client.post(
        f"/admin/users/{general.pk}",
        {"name": "一般", "confirmation_password": MASTER_CONFIRMATION, "otp": code_now()},
    ).content.decode()
    assert "入力された認証情報に誤りがあります" in spent and "1回限り有効" in spent
    unlock = client.post(
        f"/admin/users/{general.pk}/unlock", {"confirmation_password": "wrong"}
    ).content.decode()
    assert "入力された認証情報に誤りがあります" in unlock and "1回限り有効" not in unlock  # no OTP asked


def test_r_c3_lifting_says_what_was_lifted(signed_in):
    """A browser walk found 「利用停止を解除しました」 for a user only locked out, and for one with
    nothing to lift."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from corpbank.identity.models import Principal

    client, _master, general = signed_in

    def lift() -> str:
        page = client.post(
            f"/admin/users/{general.pk}/unlock", {"confirmation_password": MASTER_CONFIRMATION}, follow=True
        )
        return page.content.decode()

    assert "ロックアウト・利用停止はありませんでした" in lift()
    with transaction.atomic():
        Principal.objects.filter(pk=general.principal_id).update(
            locked_until=timezone.now() + timedelta(hours=1)
        )
    assert "ロックアウトを解除しました。" in lift()
    Principal.objects.filter(pk=general.principal_id).update(suspended_at=timezone.now())
    assert "利用停止を解除しました。" in lift()
