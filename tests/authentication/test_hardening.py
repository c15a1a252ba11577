"""Issue 12, items 4 and 5: a forced password change that really changes the password (R-B2, R-B3,
R-B6, R-B7), and a lockout that does not tell whether a login ID exists (R-C6)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import argon2
import pytest
from django.db import connection, connections, transaction

from corpbank.backoffice.models import Operator
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
    wait_until_blocked_on_a_lock,
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


class CountingHasher(argon2.PasswordHasher):
    """The tests' cheap Argon2id, counting its verifications."""

    def __init__(self) -> None:
        super().__init__(
            time_cost=1, memory_cost=8, parallelism=1, hash_len=32, salt_len=16, type=argon2.Type.ID
        )
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifications += 1
        return super().verify(hash, password)


def verifications_per_attempt(attempt: Callable[[], object], attempts: int = 7) -> list[int]:
    """How many Argon2id verifications each of ``attempts`` attempts cost."""
    counting = CountingHasher()
    previous = hashing.use_hasher(counting)
    try:
        costs = []
        for _attempt in range(attempts):
            counting.verifications = 0
            attempt()
            costs.append(counting.verifications)
        return costs
    finally:
        hashing.use_hasher(previous)


def test_r_c6_an_unknown_login_id_costs_one_argon2_verification_like_a_real_one(master, clock):
    """The same Argon2id work on every path (R-C6): a wrong password, and a refusal while locked."""
    api = ApiClient()
    per_attempt = {
        login_id: verifications_per_attempt(functools.partial(answer, api, login_id))
        for login_id in (MASTER_LOGIN_ID, UNKNOWN_ID)
    }
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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_c6_an_unknown_login_id_whose_row_is_pruned_while_its_attempt_waits_is_counted_afresh(
    branch, operators
):
    """Another attempt's pruning has chosen the row (locked it, to delete it) when this attempt comes
    for the same ID: it waits, and counts on a new row once the row is gone; never a 500."""
    assert connection.vendor == "postgresql"
    assert answer(ApiClient(), UNKNOWN_ID)[0] == 401
    key = lockout.unknown_login_key(UNKNOWN_ID)
    results: list[tuple[int, str, str]] = []

    def attempt() -> None:
        try:
            results.append(answer(ApiClient(), UNKNOWN_ID))
        finally:
            connections.close_all()

    with transaction.atomic():
        # What _prune_unknown_logins does: lock what it will delete (SKIP LOCKED), then delete it.
        doomed = list(
            UnknownLoginFailure.objects.filter(key=key)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        assert doomed
        waiting = threading.Thread(target=attempt)
        waiting.start()
        wait_until_blocked_on_a_lock()
        UnknownLoginFailure.objects.filter(pk__in=doomed).delete()
    waiting.join(timeout=30)
    assert [result[:2] for result in results] == [(401, "invalid_credentials")]
    assert UnknownLoginFailure.objects.get(key=key).consecutive_failures == 1


# ---------------------------------------------------------------------------------------------------
# Operators' login names that name nobody (R-C6): counted apart from customers', by the same rule

OPERATOR_LOGIN = "/backoffice/auth/login"
UNKNOWN_NAME = "nobody-op7"


def operator_api() -> ApiClient:
    api = ApiClient()
    api.get("/backoffice/csrf")
    return api


def operator_answer(api: ApiClient, login_name: str, password: str = WRONG) -> tuple[int, str, str]:
    status, body = api.post(OPERATOR_LOGIN, {"login_name": login_name, "password": password})
    return status, body["error"]["code"], body["error"]["message"]


def test_r_c6_an_unknown_operator_login_name_locks_and_answers_like_a_real_one(operators, clock):
    api = operator_api()
    real, unknown = [], []
    for _attempt in range(7):
        real.append(operator_answer(api, "clerk1"))
        unknown.append(operator_answer(api, UNKNOWN_NAME))
        clock(1)
    assert [answer[:2] for answer in real] == [(401, "invalid_credentials")] * 5 + [(423, "locked_out")] * 2
    assert unknown == real  # the same statuses, codes and messages, "until" the same minute
    # Audited with the name tried, by nobody (an anonymous actor from the client's address).
    tried = AuditEvent.objects.filter(action="operator.unknown_login_name").order_by("id")
    assert [event.details["login_name"] for event in tried] == [UNKNOWN_NAME] * 6
    assert [event.details["consecutive_failures"] for event in tried] == [1, 2, 3, 4, 5, 6]
    assert {event.actor_type for event in tried} == {"anonymous"}
    assert AuditEvent.objects.filter(action="operator.unknown_login_name_locked").count() == 1
    assert AuditEvent.objects.filter(action="operator.unknown_login_name_refused_while_locked").count() == 1
    # Counted apart from the customers' login IDs: the same string typed there is another row.
    assert not AuditEvent.objects.filter(action__startswith="login.unknown_login_id").exists()
    assert UnknownLoginFailure.objects.filter(
        key=lockout.unknown_login_key(UNKNOWN_NAME, lockout.OPERATORS)
    ).exists()
    assert not UnknownLoginFailure.objects.filter(key=lockout.unknown_login_key(UNKNOWN_NAME)).exists()
    assert answer(ApiClient(), UNKNOWN_NAME)[:2] == (401, "invalid_credentials")
    # An hour later both count again from zero.
    clock(3600)
    assert operator_answer(api, "clerk1")[0] == operator_answer(api, UNKNOWN_NAME)[0] == 401


def test_r_c6_a_customer_login_id_locked_does_not_lock_the_same_operator_login_name(operators, clock):
    for _attempt in range(6):
        answer(ApiClient(), UNKNOWN_NAME)
    assert answer(ApiClient(), UNKNOWN_NAME)[:2] == (423, "locked_out")
    assert operator_answer(operator_api(), UNKNOWN_NAME)[:2] == (401, "invalid_credentials")


def test_r_c2_an_unknown_operator_login_name_is_suspended_like_a_real_one(operators, clock, settings):
    settings.CORPBANK_POLICY = "suspend-at-6"
    api = operator_api()
    for _attempt in range(6):
        operator_answer(api, "clerk1")
        operator_answer(api, UNKNOWN_NAME)
    real, unknown = operator_answer(api, "clerk1"), operator_answer(api, UNKNOWN_NAME)
    assert real[:2] == (423, "suspended") and real == unknown
    assert "管理者" in real[2]
    assert AuditEvent.objects.filter(action="operator.unknown_login_name_suspended").count() == 1


def test_r_c6_the_back_office_login_page_tells_nothing_either(operators, clock):
    def page(login_name: str) -> tuple[int, str]:
        client = Client()
        response = client.post("/backoffice/login", {"login_name": login_name, "password": WRONG})
        return response.status_code, response.content.decode()

    for _attempt in range(5):
        assert page("clerk1")[0] == page(UNKNOWN_NAME)[0]
    (real, real_page), (unknown, unknown_page) = page("clerk1"), page(UNKNOWN_NAME)
    until = Operator.objects.get(login_name="clerk1").principal.locked_until
    message = LockedOut(until).message
    assert real == unknown == 423
    assert message in real_page and message in unknown_page


def test_r_c6_an_unknown_operator_login_name_costs_one_argon2_verification_like_a_real_one(operators, clock):
    api = operator_api()
    per_attempt = {
        name: verifications_per_attempt(functools.partial(operator_answer, api, name))
        for name in ("clerk1", UNKNOWN_NAME)
    }
    assert per_attempt["clerk1"] == per_attempt[UNKNOWN_NAME] == [1] * 7


@pytest.mark.parametrize(
    "who",
    ["customer's login ID", "unknown login ID", "operator's login name", "unknown operator login name"],
)
def test_r_c1_r_c6_one_rule_for_real_and_unknown_names(who, master, operators, clock, settings):
    """The whole rule, through HTTP, alike for all four: N failures lock for the policy's time, a
    locked name is refused, the lock ends by itself, and the M-th consecutive lockout suspends."""
    settings.CORPBANK_POLICY_TUNING = {
        "LOCKOUT_MAX_FAILURES": 2,
        "LOCKOUT_MINUTES": 10,
        "LOCKOUTS_BEFORE_SUSPENSION": 2,
    }
    try_once = {
        "customer's login ID": lambda: answer(ApiClient(), MASTER_LOGIN_ID),
        "unknown login ID": lambda: answer(ApiClient(), UNKNOWN_ID),
        "operator's login name": lambda: operator_answer(operator_api(), "clerk1"),
        "unknown operator login name": lambda: operator_answer(operator_api(), UNKNOWN_NAME),
    }[who]
    answers = []
    for wait in (0, 0, 0, 599, 2, 0, 0, 3600):
        clock(wait)
        answers.append(try_once()[:2])
    assert answers == [
        (401, "invalid_credentials"),
        (423, "locked_out"),  # the second failure locks for ten minutes
        (423, "locked_out"),  # refused while locked
        (423, "locked_out"),  # still, a second before the end
        (401, "invalid_credentials"),  # the lock has ended
        (423, "suspended"),  # the second consecutive lockout suspends
        (423, "suspended"),
        (423, "suspended"),  # for good (a real name until it is lifted)
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_c5_thirty_parallel_guesses_of_an_unknown_operator_login_name_are_counted_exactly(
    branch, operators
):
    assert connection.vendor == "postgresql"
    results = all_at_once(30, lambda _index: operator_answer(operator_api(), UNKNOWN_NAME)[0])
    assert results.count(401) == 5 and results.count(423) == 25
    assert AuditEvent.objects.filter(action="operator.unknown_login_name").count() == 6
    refused = AuditEvent.objects.filter(action="operator.unknown_login_name_refused_while_locked")
    assert refused.count() == 24
    assert AuditEvent.objects.filter(action="operator.unknown_login_name_locked").count() == 1
