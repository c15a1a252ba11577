"""The back office as a site of its own, through the HTTP stack (issue 12 item 7): its own cookies, its
host and networks, the login with the authenticator app's code, the roles on its screens, and 解約
(item 10) entered and approved on its screens."""

from __future__ import annotations

import base64
import re

import pytest
from django.http import HttpResponse

from corpbank.approvals.models import PendingAction
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.models import Operator
from corpbank.organizations.models import Contract
from corpbank.tokens import otp
from tests.conftest import (
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    OPERATOR_PASSWORD,
    OPERATOR_TOTP_SEED,
    Client,
    make_operator,
    operator_code,
    operator_signed_in,
)


def customer_signed_in() -> Client:
    client = Client()
    response = client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/", response.content.decode()
    return client


# ---------------------------------------------------------------------------------------------------
# Its own cookies


def test_the_back_office_sets_only_its_own_cookies_on_its_own_path(operators):
    client = Client()
    response = client.post("/backoffice/login", {"login_name": "clerk1", "password": OPERATOR_PASSWORD})
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies
    session = response.cookies["corpbank_bo_session"]
    assert session["path"] == "/backoffice/" and session["httponly"] and session["samesite"] == "Lax"
    assert response.cookies["corpbank_bo_csrftoken"]["path"] == "/backoffice/"
    response = client.post("/backoffice/login/second-factor", {"otp": operator_code("clerk1")})
    assert response["Location"] == "/backoffice/"
    assert response.cookies["corpbank_bo_session"].value != session.value  # a new key at login
    assert "sessionid" not in client.cookies
    assert client.get("/backoffice/").status_code == 200
    ended = client.post("/backoffice/logout")
    assert ended.cookies["corpbank_bo_session"]["max-age"] == 0
    assert ended.cookies["corpbank_bo_session"]["path"] == "/backoffice/"
    assert client.get("/backoffice/")["Location"] == "/backoffice/login"


def test_a_customers_session_never_signs_in_to_the_back_office(master, operators):
    customer = customer_signed_in()
    assert customer.get("/backoffice/")["Location"] == "/backoffice/login"
    # Even the customer's session key carried in the back office's cookie signs in nobody there.
    customer.cookies["corpbank_bo_session"] = customer.cookies["sessionid"].value
    assert customer.get("/backoffice/")["Location"] == "/backoffice/login"
    assert customer.get("/api/v1/backoffice/actions").status_code == 401
    assert customer.get("/").status_code == 200  # and the customer is still signed in


def test_an_operators_session_never_signs_in_to_the_customers_site(master, operators):
    operator = operator_signed_in(Client(), "clerk1")
    assert operator.get("/")["Location"] == "/login"
    operator.cookies["sessionid"] = operator.cookies["corpbank_bo_session"].value
    assert operator.get("/")["Location"] == "/login"
    assert "窓口 一郎" not in operator.get("/login").content.decode()  # nobody signed in on this site
    assert operator.get("/api/v1/me").status_code == 401
    assert operator.get("/backoffice/").status_code == 200


def test_the_back_offices_forms_check_its_own_csrf_cookie(operators):
    client = Client(enforce_csrf_checks=True)
    client.get("/login")
    client.get("/backoffice/login")
    customer_token = client.cookies["csrftoken"].value
    own_token = client.cookies["corpbank_bo_csrftoken"].value
    assert customer_token != own_token
    login = {"login_name": "clerk1", "password": OPERATOR_PASSWORD}
    assert (
        client.post("/backoffice/login", {**login, "csrfmiddlewaretoken": customer_token}).status_code == 403
    )
    assert client.post("/backoffice/login", {**login, "csrfmiddlewaretoken": own_token}).status_code == 302
    # The language switch of the back office's pages posts to the back office's own path.
    token = client.cookies["corpbank_bo_csrftoken"].value
    switched = client.post("/backoffice/language", {"language": "en", "csrfmiddlewaretoken": token})
    assert switched.status_code == 302
    page = client.get("/backoffice/login").content.decode()
    assert 'action="/backoffice/language"' in page
    # In English from then on (locale/en).
    page = client.get("/backoffice/login/second-factor").content.decode()
    assert "Enter the 6-digit one-time password shown by your authenticator app." in page


# ---------------------------------------------------------------------------------------------------
# Its host and networks


def test_with_its_own_host_the_back_office_answers_there_only(operators, settings):
    settings.ALLOWED_HOSTS = ["ib.example-rokin.jp", "backoffice.rokin.internal"]
    settings.CORPBANK_BACKOFFICE_HOST = "backoffice.rokin.internal"
    public, internal = Client(HTTP_HOST="ib.example-rokin.jp"), Client(HTTP_HOST="backoffice.rokin.internal")
    for path in ("/backoffice/login", "/backoffice/", "/api/v1/backoffice/csrf"):
        assert public.get(path).status_code == 404
    assert public.post("/backoffice/login", {"login_name": "clerk1"}).status_code == 404
    assert public.get("/login").status_code == 200
    assert internal.get("/backoffice/login").status_code == 200
    assert internal.get("/api/v1/backoffice/csrf").status_code == 200
    for path in ("/login", "/", "/api/v1/csrf", "/ca/crl"):
        assert internal.get(path).status_code == 404
    operator_signed_in(internal, "clerk1")
    assert internal.get("/backoffice/").status_code == 200


def test_with_its_networks_the_back_office_answers_their_clients_only(operators, settings):
    settings.CORPBANK_BACKOFFICE_NETWORKS = ["10.20.0.0/16"]
    assert Client().get("/backoffice/login").status_code == 404  # 127.0.0.1
    assert Client(REMOTE_ADDR="10.20.3.4").get("/backoffice/login").status_code == 200
    assert Client().get("/login").status_code == 200
    # Behind a trusted proxy, the client is the one its X-Real-IP names.
    settings.CORPBANK_TRUSTED_PROXIES = ["127.0.0.1"]
    assert Client(HTTP_X_REAL_IP="10.20.3.4").get("/backoffice/login").status_code == 200
    assert Client(HTTP_X_REAL_IP="192.0.2.1").get("/backoffice/login").status_code == 404


# ---------------------------------------------------------------------------------------------------
# The login


def test_the_second_factor_page_needs_the_password_first(operators):
    assert Client().get("/backoffice/login/second-factor")["Location"] == "/backoffice/login"
    response = Client().post("/backoffice/login/second-factor", {"otp": operator_code("clerk1")})
    assert response["Location"] == "/backoffice/login"


def test_the_password_alone_does_not_sign_in(operators):
    client = Client()
    client.post("/backoffice/login", {"login_name": "clerk1", "password": OPERATOR_PASSWORD})
    assert client.get("/backoffice/")["Location"] == "/backoffice/login"
    assert client.get("/api/v1/backoffice/actions").status_code == 401


def test_a_wrong_or_replayed_code_is_refused_on_the_page(operators, clock):
    operator_signed_in(Client(), "clerk1")
    used = otp.hotp(OPERATOR_TOTP_SEED, _last_step("clerk1"))  # the code that was just accepted
    client = Client()
    client.post("/backoffice/login", {"login_name": "clerk1", "password": OPERATOR_PASSWORD})
    response = client.post("/backoffice/login/second-factor", {"otp": used})
    assert response.status_code == 401 and "ワンタイムパスワードに誤りがあります" in response.content.decode()
    response = client.post("/backoffice/login/second-factor", {"otp": "12a456"})
    assert response.status_code == 422  # not digits: said, not counted
    assert client.get("/backoffice/")["Location"] == "/backoffice/login"


def _last_step(login_name: str) -> int:
    from corpbank.backoffice.models import OperatorTotp

    step = OperatorTotp.objects.get(operator__login_name=login_name).last_step
    assert step is not None
    return step


def approve_on_screen(client: Client, action_id: int):  # type: ignore[no-untyped-def]
    assert client.get(f"/backoffice/actions/{action_id}").status_code == 200
    return client.post(f"/backoffice/actions/{action_id}/approve", {"confirmed": "1"})


def latest_action_id() -> int:
    """The procedure just entered on a screen."""
    return PendingAction.objects.order_by("-pk").values_list("pk", flat=True)[0]


def half_on(page: HttpResponse) -> str:
    return re.search(r'id="letter-password-half"[^>]*>([^<]+)<', page.content.decode()).group(1)


def test_a_new_operator_changes_the_initial_password_then_registers_the_app(operators, clock):
    """職員の登録 on the screens: entered by one administrator, approved by another; the approver sees the
    second half of the generated initial password at approval, the entrant the first half on the
    action's page, each once; the operator puts them together, replaces them, then registers the app."""
    make_operator("kanri", role="admin"), make_operator("kanri2", role="admin")
    first, second = operator_signed_in(Client(), "kanri"), operator_signed_in(Client(), "kanri2")
    form = first.get("/backoffice/operators/new").content.decode()
    assert 'name="password"' not in form  # nobody chooses another person's password
    response = first.post(
        "/backoffice/operators/new", {"login_name": "new1", "display_name": "新人", "role": "clerk"}
    )
    action_id = latest_action_id()
    assert response["Location"] == f"/backoffice/actions/{action_id}"
    assert not Operator.objects.filter(login_name="new1").exists()
    own = first.get(response["Location"]).content.decode()
    assert 'id="own-entry"' in own and 'id="approve"' not in own
    assert 'id="initial-password"' not in own
    queue = second.get("/backoffice/").content.decode()
    assert f'data-action="{action_id}"' in queue and "職員の登録" in queue
    letter = approve_on_screen(second, action_id)
    assert letter.status_code == 200 and "no-store" in letter["Cache-Control"]
    assert 'data-half="second"' in letter.content.decode() and "kanri" in letter.content.decode()
    second_half = half_on(letter)
    assert backoffice.password_is_initial(Operator.objects.get(login_name="new1"))
    # The approver's page never offers the first half; the entrant's does, once.
    assert 'id="show-first-half"' not in second.get(f"/backoffice/actions/{action_id}").content.decode()
    assert second.post(f"/backoffice/actions/{action_id}/password-half")["Location"] == (
        f"/backoffice/actions/{action_id}"
    )
    listed = first.get("/backoffice/operators").content.decode()  # where the entrant finds it again
    assert 'id="halves-waiting"' in listed and f'href="/backoffice/actions/{action_id}"' in listed
    assert 'id="halves-waiting"' not in second.get("/backoffice/operators").content.decode()
    assert 'id="show-first-half"' in first.get(f"/backoffice/actions/{action_id}").content.decode()
    shown = first.post(f"/backoffice/actions/{action_id}/password-half")
    assert shown.status_code == 200 and "no-store" in shown["Cache-Control"]
    assert 'data-half="first"' in shown.content.decode()
    initial = half_on(shown) + second_half
    assert 'id="show-first-half"' not in first.get(f"/backoffice/actions/{action_id}").content.decode()
    assert first.post(f"/backoffice/actions/{action_id}/password-half").status_code == 302  # once
    assert 'id="halves-waiting"' not in first.get("/backoffice/operators").content.decode()

    client = Client()
    response = client.post("/backoffice/login", {"login_name": "new1", "password": initial})
    assert response["Location"] == "/backoffice/login/password"
    # The second factor waits for the password change: no key is shown for the initial password.
    assert client.get("/backoffice/login/second-factor")["Location"] == "/backoffice/login/password"
    assert client.post("/backoffice/login/second-factor", {"otp": "123456"})["Location"] == (
        "/backoffice/login/password"
    )
    page = client.get("/backoffice/login/password")
    assert "no-store" in page["Cache-Control"] and 'id="qr"' not in page.content.decode()
    same = client.post("/backoffice/login/password", {"new_password": initial, "new_password_again": initial})
    assert same.status_code == 422 and "現在のパスワードと異なる" in same.content.decode()
    changed = client.post(
        "/backoffice/login/password", {"new_password": "Mine4pass", "new_password_again": "Mine4pass"}
    )
    assert changed["Location"] == "/backoffice/login/second-factor"
    page = client.get(changed["Location"])
    assert "no-store" in page["Cache-Control"]
    text = page.content.decode()
    assert "<svg" in text and 'id="qr"' in text
    key = re.search(r'id="secret">([A-Z2-7]+)<', text).group(1)
    again = client.get("/backoffice/login/second-factor").content.decode()
    assert key not in again  # a new key each time it is shown: the first is never shown again
    key = re.search(r'id="secret">([A-Z2-7]+)<', again).group(1)
    seed = base64.b32decode(key + "=" * (-len(key) % 8))
    wrong = client.post("/backoffice/login/second-factor", {"otp": "000000"})
    assert wrong.status_code == 401 and 'id="secret"' not in wrong.content.decode()
    code = otp.totp(seed, otp.now_seconds(), step_seconds=30)
    assert client.post("/backoffice/login/second-factor", {"otp": code})["Location"] == "/backoffice/"
    assert client.get("/backoffice/").status_code == 200
    # The next login asks for the code only.
    other = Client()
    assert (
        other.post("/backoffice/login", {"login_name": "new1", "password": "Mine4pass"})["Location"]
        == "/backoffice/login/second-factor"
    )
    assert 'id="qr"' not in other.get("/backoffice/login/second-factor").content.decode()


def test_one_administrator_cannot_make_another_operators_login_possible_for_themselves(operators, clock):
    """The review's takeover: admin1 reset clerk2's second factor and enrolled a key with a password it
    knew. Now the reset is only an entry that another administrator must approve, the entrant cannot
    approve it, and meanwhile clerk2's login still asks clerk2's own code."""
    make_operator("admin1", role="admin")
    admin = operator_signed_in(Client(), "admin1")
    admin.post(f"/backoffice/operators/{operators[1].pk}/reset-second-factor")
    assert backoffice.has_second_factor(operators[1])
    action = PendingAction.objects.get(kind="operator_reset_second_factor")
    refused = admin.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    assert refused.status_code == 302 and backoffice.has_second_factor(operators[1])
    assert PendingAction.objects.get(pk=action.pk).status == "pending"
    # An approver (clerk2 itself, or any) never decides it either.
    approver = operator_signed_in(Client(), "clerk2")
    assert f'data-action="{action.pk}"' not in approver.get("/backoffice/").content.decode()
    approver.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    assert PendingAction.objects.get(pk=action.pk).status == "pending"
    thief = Client()
    thief.post("/backoffice/login", {"login_name": "clerk2", "password": OPERATOR_PASSWORD})
    page = thief.get("/backoffice/login/second-factor").content.decode()
    assert 'id="qr"' not in page and 'id="secret"' not in page
    # Nor can it register an operator whose password it chose.
    admin.post(
        "/backoffice/operators/new",
        {"login_name": "mine1", "display_name": "x", "role": "approver", "password": OPERATOR_PASSWORD},
    )
    assert not Operator.objects.filter(login_name="mine1").exists()


def test_review_finding_1_after_a_reset_the_code_comes_before_the_new_password(operators, clock):
    """chain_reset.py on the screens: with clerk2's app registered, the initial password of a reset
    leads to the code, never to the change; after the code, the change, then the session."""
    first, second = make_operator("kanri", role="admin"), make_operator("kanri2", role="admin")
    entered = backoffice.enter_operator_procedure(first, operators[1].pk, "reset-password")
    letter = backoffice.approve(second, entered.pk).operator_letter
    initial = backoffice.show_first_half(first, entered.pk).password_half + letter.password_half
    thief = Client()
    response = thief.post("/backoffice/login", {"login_name": "clerk2", "password": initial})
    assert response["Location"] == "/backoffice/login/second-factor"
    assert thief.get("/backoffice/login/password")["Location"] == "/backoffice/login/second-factor"
    posted = thief.post(
        "/backoffice/login/password", {"new_password": "Evil1pass", "new_password_again": "Evil1pass"}
    )
    assert posted["Location"] == "/backoffice/login/second-factor" and backoffice.password_is_initial(
        operators[1]
    )
    page = thief.get("/backoffice/login/second-factor").content.decode()
    assert 'id="qr"' not in page and 'id="secret"' not in page
    assert thief.post("/backoffice/login/second-factor", {"otp": "000000"}).status_code == 401
    assert thief.get("/backoffice/")["Location"] == "/backoffice/login"
    # clerk2 with the app: the code, then the forced change, then the session.
    owner = Client()
    owner.post("/backoffice/login", {"login_name": "clerk2", "password": initial})
    coded = owner.post("/backoffice/login/second-factor", {"otp": operator_code("clerk2")})
    assert coded["Location"] == "/backoffice/login/password"
    assert owner.get("/backoffice/")["Location"] == "/backoffice/login"  # not signed in yet
    changed = owner.post(
        "/backoffice/login/password", {"new_password": "Mine4pass", "new_password_again": "Mine4pass"}
    )
    assert changed["Location"] == "/backoffice/"
    assert owner.get("/backoffice/").status_code == 200
    assert not backoffice.password_is_initial(operators[1])


def test_review_finding_4_an_expired_password_is_changed_after_the_code(clock, operators):
    clock(91 * 86400)
    client = Client()
    assert (
        client.post("/backoffice/login", {"login_name": "clerk1", "password": OPERATOR_PASSWORD})["Location"]
        == "/backoffice/login/second-factor"
    )
    coded = client.post("/backoffice/login/second-factor", {"otp": operator_code("clerk1")})
    assert coded["Location"] == "/backoffice/login/password"
    page = client.get("/backoffice/login/password").content.decode()
    assert "有効期限" in page
    done = client.post(
        "/backoffice/login/password", {"new_password": "Mine4pass", "new_password_again": "Mine4pass"}
    )
    assert done["Location"] == "/backoffice/" and client.get("/backoffice/").status_code == 200


def test_review_finding_7_only_administrators_open_an_operator_procedures_page(operators):
    first, _second = make_operator("kanri", role="admin"), make_operator("kanri2", role="admin")
    entered = backoffice.enter_operator_procedure(first, operators[0].pk, "unlock")
    assert operator_signed_in(Client(), "kanri2").get(f"/backoffice/actions/{entered.pk}").status_code == 200
    approver = operator_signed_in(Client(), "clerk2")
    refused, missing = (
        approver.get(f"/backoffice/actions/{entered.pk}"),
        approver.get("/backoffice/actions/999999"),
    )
    assert refused.status_code == missing.status_code == 404
    for page in (refused, missing):
        assert "手続が見つかりません" in page.content.decode()
    assert "窓口 一郎" not in refused.content.decode()  # nothing of the operator concerned


def test_a_password_reset_ends_a_half_done_login(operators, clock):
    """A login waiting at the second step when the password is reset cannot go on to choose a password
    for the new initial one it never saw: it starts again."""
    first, second = make_operator("kanri", role="admin"), make_operator("kanri2", role="admin")
    waiting = Client()
    waiting.post("/backoffice/login", {"login_name": "clerk1", "password": OPERATOR_PASSWORD})
    entered = backoffice.enter_operator_procedure(first, operators[0].pk, "reset-password")
    backoffice.approve(second, entered.pk)
    assert waiting.get("/backoffice/login/password")["Location"] == "/backoffice/login"
    assert waiting.get("/backoffice/login/second-factor")["Location"] == "/backoffice/login"
    assert backoffice.password_is_initial(operators[0])


# ---------------------------------------------------------------------------------------------------
# Roles on the screens


def test_a_clerk_sees_no_approval_and_is_refused_with_a_clear_message(master, operators):
    clerk_operator = make_operator("uketsuke", role="clerk")
    clerk = operator_signed_in(Client(), "uketsuke")
    clerk.post(f"/backoffice/contracts/{master.contract_id}/emergency-stop", {"reason": "PC紛失"})
    action = PendingAction.objects.get(kind="emergency_stop", entered_by=clerk_operator)
    approver = operator_signed_in(Client(), "clerk2")
    assert "承認者の承認待ち" not in approver.get("/backoffice/").content.decode()
    other_clerk = make_operator("uketsuke2", role="clerk")
    assert other_clerk.role == "clerk"
    second_clerk = operator_signed_in(Client(), "uketsuke2")
    home = second_clerk.get("/backoffice/").content.decode()
    assert "承認者の承認待ち" in home
    refused = second_clerk.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    assert refused.status_code == 403 and "書面手続は承認者" in refused.content.decode()
    assert second_clerk.post(f"/backoffice/actions/{action.pk}/reject").status_code == 403
    assert PendingAction.objects.get(pk=action.pk).status == "pending"
    assert second_clerk.get("/backoffice/operators").status_code == 403


def test_an_administrator_manages_operators_and_nothing_else(master, operators):
    make_operator("kanri", role="admin"), make_operator("kanri2", role="admin")
    admin, other_admin = operator_signed_in(Client(), "kanri"), operator_signed_in(Client(), "kanri2")
    menu = admin.get("/backoffice/").content.decode()
    assert "/backoffice/operators" in menu and "/backoffice/contracts/new" not in menu
    for path in ("/backoffice/contracts/new", "/backoffice/tokens/stock"):
        refused = admin.get(path)
        assert refused.status_code == 403 and "受付担当または承認者" in refused.content.decode()
    # The customers' procedures are not an administrator's to decide, nor in its queue.
    admin_home = admin.get("/backoffice/")
    approver = operator_signed_in(Client(), "clerk2")
    approver.post(f"/backoffice/contracts/{master.contract_id}/emergency-stop", {"reason": "PC紛失"})
    paper = PendingAction.objects.get(kind="emergency_stop")
    assert f'data-action="{paper.pk}"' not in admin.get("/backoffice/").content.decode()
    assert admin_home.status_code == 200
    assert admin.post(f"/backoffice/actions/{paper.pk}/approve", {"confirmed": "1"}).status_code == 302
    assert PendingAction.objects.get(pk=paper.pk).status == "pending"
    bad = admin.post("/backoffice/operators/new", {"login_name": "新人", "display_name": "", "role": "x"})
    assert bad.status_code == 422 and 'id="error_login_name"' in bad.content.decode()
    target = operators[0]
    for act, data in (("role", {"role": "clerk"}), ("reset-second-factor", {}), ("deactivate", {})):
        response = admin.post(f"/backoffice/operators/{target.pk}/{act}", data)
        assert response["Location"] == "/backoffice/operators"
        action_id = latest_action_id()
        assert approve_on_screen(other_admin, action_id)["Location"] == "/backoffice/"
    target.refresh_from_db()
    assert target.role == "clerk" and not target.is_active and not backoffice.has_second_factor(target)
    page = admin.get("/backoffice/operators").content.decode()
    assert 'data-operator="clerk1"' in page
    unknown = admin.post(f"/backoffice/operators/{target.pk}/promote")
    assert unknown.status_code == 302  # unknown: said on the list
    clerk = operator_signed_in(Client(), "clerk2")
    assert clerk.post(f"/backoffice/operators/{target.pk}/role", {"role": "admin"}).status_code == 403


def test_administrators_lift_an_operators_suspension(operators, clock):
    make_operator("kanri", role="admin"), make_operator("kanri2", role="admin")
    client = Client()
    client.post("/backoffice/login", {"login_name": "clerk1", "password": OPERATOR_PASSWORD})
    for _ in range(10):
        response = client.post("/backoffice/login/second-factor", {"otp": "000000"})
    assert response.status_code == 423 and "管理者に利用停止の解除" in response.content.decode()
    admin = operator_signed_in(Client(), "kanri")
    assert "利用停止中" in admin.get("/backoffice/operators").content.decode()
    admin.post(f"/backoffice/operators/{operators[0].pk}/unlock")
    approve_on_screen(operator_signed_in(Client(), "kanri2"), latest_action_id())
    operator_signed_in(Client(), "clerk1")


def test_a_signed_in_operator_changes_the_password_on_its_screen(operators):
    client = operator_signed_in(Client(), "clerk1")
    assert "/backoffice/password" in client.get("/backoffice/").content.decode()
    wrong = client.post(
        "/backoffice/password",
        {"current_password": "Wrong1pass", "new_password": "Mine4pass", "new_password_again": "Mine4pass"},
    )
    assert wrong.status_code == 401 and "現在のパスワードに誤り" in wrong.content.decode()
    login_name = client.post(
        "/backoffice/password",
        {"current_password": OPERATOR_PASSWORD, "new_password": "clerk1", "new_password_again": "clerk1"},
    )
    assert login_name.status_code == 422
    done = client.post(
        "/backoffice/password",
        {
            "current_password": OPERATOR_PASSWORD,
            "new_password": "Mine4pass",
            "new_password_again": "Mine4pass",
        },
    )
    assert done["Location"] == "/backoffice/"
    assert backoffice.check_password(login_name="clerk1", password="Mine4pass")


# ---------------------------------------------------------------------------------------------------
# 解約 on the screens (item 10)


def test_r_f6_termination_entered_and_approved_on_the_screens(master, operators):
    first, second = operator_signed_in(Client(), "clerk1"), operator_signed_in(Client(), "clerk2")
    page = first.get(f"/backoffice/contracts/{master.contract_id}").content.decode()
    assert f'action="/backoffice/contracts/{master.contract_id}/terminate"' in page
    first.post(f"/backoffice/contracts/{master.contract_id}/terminate", {"reason": "団体解散"})
    action = PendingAction.objects.get(kind="terminate_contract")
    assert Contract.objects.get(pk=master.contract_id).status == Contract.Status.ACTIVE
    second.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    assert Contract.objects.get(pk=master.contract_id).status == Contract.Status.TERMINATED
    page = first.get(f"/backoffice/contracts/{master.contract_id}").content.decode()
    assert 'id="terminated"' in page and "/terminate" not in page
    # No procedure is offered on a terminated contract: each could only be refused.
    assert f"/backoffice/contracts/{master.contract_id}/initialize-master" not in page
    assert f"/backoffice/contracts/{master.contract_id}/pins" not in page
    refused = Client().post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    assert "解約" in refused.content.decode()


@pytest.mark.parametrize("role", ["admin", "clerk"])
def test_entering_termination_takes_the_entry_role(master, operators, role):
    make_operator("someone", role=role)
    client = operator_signed_in(Client(), "someone")
    response = client.post(f"/backoffice/contracts/{master.contract_id}/terminate", {"reason": "x"})
    if role == "admin":
        assert response.status_code == 403
        assert not PendingAction.objects.filter(kind="terminate_contract").exists()
    else:
        assert response.status_code == 302
        assert PendingAction.objects.filter(kind="terminate_contract").exists()
