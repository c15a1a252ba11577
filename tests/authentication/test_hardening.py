"""Issue 12, items 4 and 5: a forced password change that really changes the password (R-B2, R-B3,
R-B6, R-B7), and a lockout that does not tell whether a login ID exists (R-C6)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import argon2
import pytest
from django.db import connection

from corpbank.core.errors import LockedOut
from corpbank.core.models import AuditEvent
from corpbank.identity import hashing, lockout
from corpbank.identity.models import FailureCounter, Principal, Secret, UnknownLoginFailure
from corpbank.organizations.models import CustomerUser
from tests.api.test_api import ApiClient
from tests.conftest import (
    GENERAL_FIRST_CHANGE,
    GENERAL_LOGIN_ID,
    MASTER_CONFIRMATION,
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    Client,
    all_at_once,
)

UNKNOWN_ID = "nobody42"


def web_log_in(client: Client, login_id: str, password: str) -> Any:
    return client.post("/login", {"login_id": login_id, "password": password})


# ---------------------------------------------------------------------------------------------------
# Item 4: a new password differs from the one it replaces


def forced_change(**changes: str) -> dict[str, str]:
    return {**GENERAL_FIRST_CHANGE, **changes}


@pytest.mark.parametrize(
    "changes, field",
    [
        (
            {"new_login_password": "Init1login", "new_login_password_again": "Init1login"},
            "new_login_password",
        ),
        (
            {"new_confirmation_password": "Init1conf", "new_confirmation_password_again": "Init1conf"},
            "new_confirmation_password",
        ),
    ],
)
def test_r_b6_the_forced_change_refuses_the_initial_password_typed_again(general, changes, field):
    client = Client()
    assert web_log_in(client, GENERAL_LOGIN_ID, "Init1login")["Location"] == "/settings/password"
    response = client.post("/settings/password", forced_change(**changes))
    page = response.content.decode()
    assert response.status_code == 422
    assert f'id="error_{field}"' in page and "現在のパスワードと異なるパスワードを設定してください" in page
    # Nothing changed: both initial passwords still stand and must still be replaced.
    assert set(
        Secret.objects.filter(principal_id=general.principal_id, must_change=True).values_list(
            "kind", flat=True
        )
    ) == {"login_password", "confirmation_password"}
    assert client.get("/")["Location"] == "/settings/password"
    assert not AuditEvent.objects.filter(action="user.passwords_changed").exists()
    # With new ones, the same form goes through.
    assert client.post("/settings/password", GENERAL_FIRST_CHANGE).status_code == 302


def test_r_b6_a_voluntary_change_to_the_same_password_is_refused_through_the_api(master):
    api = ApiClient()
    assert api.post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})[0] == 200
    status, body = api.post(
        "/me/passwords",
        {
            "current_login_password": MASTER_PASSWORD,
            "current_confirmation_password": MASTER_CONFIRMATION,
            "new_login_password": MASTER_PASSWORD,
            "new_login_password_again": MASTER_PASSWORD,
        },
    )
    assert status == 422 and body["error"]["code"] == "validation_failed"
    assert "new_login_password" in body["error"]["fields"]
    stored = Secret.objects.get(principal_id=master.principal_id, kind="login_password")
    assert hashing.verify_hash(stored.hash, MASTER_PASSWORD)


def test_r_b3_both_current_passwords_are_asked_and_an_empty_one_is_not_counted(master):
    api = ApiClient()
    api.post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    status, body = api.post(
        "/me/passwords",
        {
            "current_login_password": MASTER_PASSWORD,
            "new_login_password": "Fresh1pass",
            "new_login_password_again": "Fresh1pass",
        },
    )
    assert status == 422 and list(body["error"]["fields"]) == ["current_confirmation_password"]
    assert not FailureCounter.objects.filter(consecutive_failures__gt=0).exists()
    page = Client()
    web_log_in(page, MASTER_LOGIN_ID, MASTER_PASSWORD)
    html = page.get("/settings/password").content.decode()
    assert "現在のログインパスワードと確認用パスワードの両方が必要です" in html


def test_r_c1_the_password_change_is_no_oracle_for_the_other_password(master):
    """Before the fix a new login password equal to the confirmation password was refused by name
    before anything was checked: whoever had the session learnt, uncounted, whether a guess was the
    confirmation password. Now a wrong current confirmation password is refused first, and counted."""
    api = ApiClient()
    api.post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    status, body = api.post(
        "/me/passwords",
        {
            "current_login_password": MASTER_PASSWORD,
            "current_confirmation_password": "Guess1conf",
            "new_login_password": MASTER_CONFIRMATION,
            "new_login_password_again": MASTER_CONFIRMATION,
        },
    )
    assert status == 401 and body["error"]["code"] == "invalid_credentials"
    counter = FailureCounter.objects.get(principal_id=master.principal_id, kind="confirmation_password")
    assert counter.consecutive_failures == 1


def test_r_b7_the_first_registration_refuses_the_initial_password_as_a_new_one(registered):
    form = {
        "contract_number": registered.contract.number,
        "initial_password": registered.initial_password,
        "login_id": "first001",
        "login_password": registered.initial_password,
        "login_password_again": registered.initial_password,
        "confirmation_password": "First1conf",
        "confirmation_password_again": "First1conf",
    }
    response = Client().post("/register", form)
    assert response.status_code == 422
    assert "初期パスワードと異なるパスワードを設定してください" in response.content.decode()
    registered.master.refresh_from_db()
    assert registered.master.status == CustomerUser.Status.AWAITING_REGISTRATION
    form.update(login_password="First1pass", login_password_again="First1pass")
    assert Client().post("/register", form).status_code == 302


# ---------------------------------------------------------------------------------------------------
# Item 5: an unknown login ID answers like a real one


WRONG = "Wrong1pass"


def answer(api: ApiClient, login_id: str, password: str = WRONG) -> tuple[int, str, str]:
    status, body = api.post("/auth/login", {"login_id": login_id, "password": password})
    return status, body["error"]["code"], body["error"]["message"]


def test_r_c6_an_unknown_login_id_locks_and_answers_like_a_real_one(master, clock):
    api = ApiClient()
    users_before, principals_before = CustomerUser.objects.count(), Principal.objects.count()
    for _attempt in range(5):
        real, unknown = answer(api, MASTER_LOGIN_ID), answer(api, UNKNOWN_ID)
        assert real[:2] == (401, "invalid_credentials") and real == unknown
        clock(1)
    # The sixth: both locked, the same status, code and message, "until" the same minute (R-C6).
    real, unknown = answer(api, MASTER_LOGIN_ID), answer(api, UNKNOWN_ID)
    assert real[:2] == (423, "locked_out") and real == unknown
    assert answer(api, MASTER_LOGIN_ID) == answer(api, UNKNOWN_ID)  # refused while locked, alike
    # No user was created for it, and the audit log says which ID was tried.
    assert (CustomerUser.objects.count(), Principal.objects.count()) == (users_before, principals_before)
    tried = AuditEvent.objects.filter(action="login.unknown_login_id").order_by("id")
    assert [event.details["login_id"] for event in tried] == [UNKNOWN_ID] * 6
    assert [event.details["consecutive_failures"] for event in tried] == [1, 2, 3, 4, 5, 6]
    assert AuditEvent.objects.filter(action="login.unknown_login_id_locked").count() == 1
    assert AuditEvent.objects.filter(action="login.unknown_login_id_refused_while_locked").count() == 1
    # An hour later both count again from zero.
    clock(3600)
    assert answer(api, MASTER_LOGIN_ID)[0] == answer(api, UNKNOWN_ID)[0] == 401


def test_r_c6_the_web_login_page_tells_nothing_either(master, clock):
    def page(login_id: str) -> tuple[int, str]:
        response = web_log_in(Client(), login_id, "Wrong1pass")
        return response.status_code, response.content.decode()

    for _attempt in range(5):
        (real, _), (unknown, _) = page(MASTER_LOGIN_ID), page(UNKNOWN_ID)
        assert real == unknown == 401
    (real, real_page), (unknown, unknown_page) = page(MASTER_LOGIN_ID), page(UNKNOWN_ID)
    until = Principal.objects.get(pk=master.principal_id).locked_until
    message = LockedOut(until).message
    assert real == unknown == 423
    assert message in real_page and message in unknown_page


def test_r_c2_an_unknown_login_id_is_suspended_like_a_real_one(master, clock, settings):
    settings.CORPBANK_POLICY = "suspend-at-6"
    api = ApiClient()
    for _attempt in range(6):
        answer(api, MASTER_LOGIN_ID)
        answer(api, UNKNOWN_ID)
    real, unknown = answer(api, MASTER_LOGIN_ID), answer(api, UNKNOWN_ID)
    assert real[:2] == unknown[:2] == (423, "suspended")
    assert AuditEvent.objects.filter(action="login.unknown_login_id_suspended").count() == 1
    # Which message an unknown ID gets (a master's or a general user's) is fixed per ID: both occur.
    roles = {lockout.reads_as_master(f"user{number:04d}") for number in range(200)}
    assert roles == {True, False}


def test_r_c6_an_unknown_login_id_costs_one_argon2_verification_like_a_real_one(master, clock):
    """The same Argon2id work on every path (R-C6): a wrong password, and a refusal while locked."""
    calls: list[str] = []

    class Counting(argon2.PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            calls.append("verify")
            return super().verify(hash, password)

    counting = Counting(
        time_cost=1, memory_cost=8, parallelism=1, hash_len=32, salt_len=16, type=argon2.Type.ID
    )
    previous = hashing.use_hasher(counting)
    try:
        api = ApiClient()
        per_attempt = {}
        for login_id in (MASTER_LOGIN_ID, UNKNOWN_ID):
            costs = []
            for _attempt in range(7):
                calls.clear()
                answer(api, login_id)
                costs.append(len(calls))
            per_attempt[login_id] = costs
    finally:
        hashing.use_hasher(previous)
    assert per_attempt[MASTER_LOGIN_ID] == per_attempt[UNKNOWN_ID] == [1] * 7


def test_r_c6_unknown_login_ids_take_bounded_storage(db, clock, settings):
    settings.CORPBANK_POLICY_TUNING = {"UNKNOWN_LOGIN_MAX_ROWS": 3, "UNKNOWN_LOGIN_RETENTION_HOURS": 2}
    api = ApiClient()
    for number in range(8):
        answer(api, f"nobody{number:02d}")
        assert UnknownLoginFailure.objects.count() <= 3
    # The oldest were evicted, the newest kept; no login ID is stored, only its keyed hash.
    kept = set(UnknownLoginFailure.objects.values_list("key", flat=True))
    assert kept == {lockout.unknown_login_key(f"nobody{number:02d}") for number in (5, 6, 7)}
    assert not UnknownLoginFailure.objects.filter(key__contains="nobody").exists()
    # Idle longer than the retention: deleted by the next attempt, and counted again from zero.
    clock(3 * 3600)
    answer(api, "nobody05")
    assert UnknownLoginFailure.objects.get().consecutive_failures == 1


def test_r_c6_a_long_login_id_is_audited_truncated(db):
    api = ApiClient()
    long_id = "x1" * 500
    status, _body = api.post("/auth/login", {"login_id": long_id, "password": "Wrong1pass"})
    assert status == 401
    event = AuditEvent.objects.get(action="login.unknown_login_id")
    assert event.details["login_id"] == long_id[: lockout.UNKNOWN_LOGIN_ID_AUDITED_LENGTH]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_c5_thirty_parallel_guesses_of_an_unknown_login_id_are_counted_exactly(branch, operators):
    assert connection.vendor == "postgresql"

    def attempt(_index: int) -> int:
        return answer(ApiClient(), UNKNOWN_ID)[0]

    results = all_at_once(30, attempt)
    # Exactly six were evaluated; the sixth locked; the other 24 were refused unevaluated (R-C5).
    assert results.count(401) == 5 and results.count(423) == 25
    assert AuditEvent.objects.filter(action="login.unknown_login_id").count() == 6
    assert AuditEvent.objects.filter(action="login.unknown_login_id_refused_while_locked").count() == 24
    assert AuditEvent.objects.filter(action="login.unknown_login_id_locked").count() == 1
    row = UnknownLoginFailure.objects.get()
    assert row.consecutive_lockouts == 1 and row.locked_until is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_c5_parallel_guesses_of_many_unknown_ids_never_deadlock_on_the_pruning(branch, operators, settings):
    settings.CORPBANK_POLICY_TUNING = {"UNKNOWN_LOGIN_MAX_ROWS": 5}
    results = all_at_once(20, lambda index: answer(ApiClient(), f"nobody{index:02d}")[0])
    assert results == [401] * 20
    assert AuditEvent.objects.filter(action="login.unknown_login_id").count() == 20
    # Rows that other attempts held were skipped, not waited for; the next attempt prunes them.
    answer(ApiClient(), "latecomer1")
    assert UnknownLoginFailure.objects.count() == 5


def test_lock_window_for_unknown_ids_is_never_shorter_than_a_lockout(settings):
    settings.CORPBANK_POLICY_TUNING = {"UNKNOWN_LOGIN_RETENTION_HOURS": 0, "LOCKOUT_MINUTES": 90}
    from corpbank.core.policy import current_policy

    assert current_policy().unknown_login_retention == timedelta(minutes=90)
