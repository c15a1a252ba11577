"""ワンタイムパスワードの管理 (master) and the bank's lost report, through HTTP (R-C4, R-E6, R-E7)."""

from __future__ import annotations

from corpbank.identity.models import Principal
from corpbank.organizations import services as users
from corpbank.tokens import selectors as token_selectors
from corpbank.tokens import services as tokens
from corpbank.tokens.models import Token
from tests.conftest import (
    MASTER_CONFIRMATION,
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    Client,
    code_now,
    operator_signed_in,
)


def master_client(otp_master) -> Client:
    client = Client()
    client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    client.post("/settings/otp/register", {"serial": "HW00000001", "otp": code_now()})
    return client


def add_staff(otp_master):  # type: ignore[no-untyped-def]
    """A general user of the OTP contract, added by its master with a code of a new time step."""
    return users.add_general_user(
        master=otp_master,
        factors={"confirmation_password": MASTER_CONFIRMATION, "otp": code_now()},
        login_id="staff001",
        name="一般",
        login_password="Init1login",
        confirmation_password="Init1conf",
    )


def test_r_e7_master_sees_tokens_and_revokes_own(otp_master, clock):
    client = master_client(otp_master)
    page = client.get("/admin/otp").content.decode()
    assert "HW00000001" in page and "ワンタイムパスワードの管理" in page
    clock(60)
    response = client.post(
        f"/admin/otp/{otp_master.pk}/revoke",
        {"confirmation_password": MASTER_CONFIRMATION, "otp": code_now()},
    )
    assert response["Location"] == "/admin/otp"
    assert token_selectors.registration_in_force(otp_master) is None


def test_r_c4_master_lifts_a_general_users_stopped_token(otp_master, clock):
    client = master_client(otp_master)
    clock(60)
    staff = add_staff(otp_master)
    clock(60)
    tokens.register_for_user(user=staff, serial="HW00000002", code=code_now())
    token = Token.objects.get(serial="HW00000002")
    Principal.objects.filter(pk=token.principal_id).update(suspended_at=clock())
    assert "利用停止中" in client.get("/admin/otp").content.decode()
    response = client.post(f"/admin/otp/{staff.pk}/unlock", {"confirmation_password": MASTER_CONFIRMATION})
    assert response["Location"] == "/admin/otp"
    assert not Principal.objects.get(pk=token.principal_id).is_suspended


def test_r_e6_the_bank_reports_a_token_lost_at_once(otp_master, clock):
    master_client(otp_master)
    operator = Client()
    operator_signed_in(operator, "clerk1")
    # One click no longer does it: the page shows which token and whose, and asks the check.
    page = operator.get("/backoffice/tokens/HW00000001/lost").content.decode()
    assert 'id="lost-serial">HW00000001<' in page and otp_master.contract.number in page
    assert operator.post("/backoffice/tokens/HW00000001/lost").status_code == 422
    assert Token.objects.get(serial="HW00000001").state != Token.State.LOST
    response = operator.post("/backoffice/tokens/HW00000001/lost", {"confirmed": "1"})
    assert response.status_code == 302
    assert Token.objects.get(serial="HW00000001").state == Token.State.LOST
    assert token_selectors.registration_in_force(otp_master) is None


def test_r_e6_a_token_lost_or_revoked_already_is_not_reported_again(otp_master, clock):
    """The review of stop 22: the confirmation was skipped for a token not shipped or in use, and a
    lost one was reported lost again (a second audit event)."""
    from corpbank.core.models import AuditEvent

    operator = Client()
    operator_signed_in(operator, "clerk1")
    operator.post("/backoffice/tokens/HW00000001/lost", {"confirmed": "1"})
    again = operator.post("/backoffice/tokens/HW00000001/lost", follow=True).content.decode()
    assert "すでに紛失として利用できなくなっています" in again
    assert AuditEvent.objects.filter(action="token.reported_lost").count() == 1
    told = operator.get("/backoffice/tokens/NOPE0001/lost", follow=True).content.decode()
    assert "発送されていません" in told


def test_r_c4_a_token_a_general_user_stopped_while_registering_is_shown_and_lifted(otp_master, clock):
    """The review of stop 22: the screen showed 未登録 and no unlock link for a general user whose
    token was stopped by ten wrong codes at ワンタイムパスワード利用登録."""
    import contextlib

    from corpbank.core.errors import DomainError

    client = master_client(otp_master)
    clock(60)
    staff = add_staff(otp_master)
    for _ in range(10):
        with contextlib.suppress(DomainError):
            tokens.register_for_user(user=staff, serial="HW00000002", code="000000")
    assert Token.objects.get(serial="HW00000002").principal.is_suspended
    page = client.get("/admin/otp").content.decode()
    assert "利用登録中の連続した誤入力で利用停止中" in page and f"/admin/otp/{staff.pk}/unlock" in page
    response = client.post(f"/admin/otp/{staff.pk}/unlock", {"confirmation_password": MASTER_CONFIRMATION})
    assert response["Location"] == "/admin/otp"
    assert not Token.objects.get(serial="HW00000002").principal.is_suspended
    clock(60)
    assert tokens.register_for_user(user=staff, serial="HW00000002", code=code_now())
