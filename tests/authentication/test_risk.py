"""Risk-based additional authentication, 追加認証 (R-D1, R-D2, R-D3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpbank.authentication import risk
from corpbank.authentication.models import KnownEnvironment, SecretQuestion
from corpbank.backoffice import services as backoffice
from corpbank.core.errors import Conflict, FactorsRejected, LockedOut, ValidationFailed, WrongAnswer
from corpbank.core.models import AuditEvent
from corpbank.identity.models import Secret, SecretKind
from tests.conftest import (
    ANSWER,
    GENERAL_LOGIN_ID,
    MASTER_CONFIRMATION,
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    log_in,
    recognised_environment,
)
from tests.conftest import register_questions as register_test_questions

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1"
)


def environment(**overrides: str) -> risk.Environment:
    values = {
        "user_agent": CHROME_WINDOWS,
        "accept_language": "ja,en-US;q=0.9,en;q=0.8",
        "ip_address": "203.0.113.45",
        "device_cookie": "",
    }
    values.update(overrides)
    return risk.Environment.of(**values)


@pytest.mark.parametrize(
    ("typed", "registered"),
    [
        ("Ｓａｋｕｒａ", "sakura"),
        ("SAKURA", "sakura"),
        ("ｻｸﾗ", "サクラ"),
        (" さ く　ら ", "さくら"),
        ("１２３４", "1234"),
    ],
)
def test_r_d1_answers_are_normalised(typed, registered):
    assert risk.normalize_answer(typed) == risk.normalize_answer(registered)


@given(st.text(max_size=40))
def test_r_d1_normalising_twice_changes_nothing_and_leaves_no_space(text):
    once = risk.normalize_answer(text)
    assert risk.normalize_answer(once) == once
    assert not any(character.isspace() for character in once)


def test_r_d2_what_the_bank_sees_of_an_environment():
    seen = environment()
    assert (seen.browser, seen.os) == ("Chrome", "Windows")
    assert seen.languages == "ja,en-us,en"
    assert seen.network == "203.0.113.0/24"
    assert environment(ip_address="2001:db8:abcd:12::1").network == "2001:db8:abcd::/48"
    assert (environment(user_agent=FIREFOX_LINUX).browser, environment(user_agent=FIREFOX_LINUX).os) == (
        "Firefox",
        "Linux",
    )
    assert environment(user_agent=SAFARI_IPHONE).os == "iOS"
    # A browser update is not a change; the next address in the same /24 is not either.
    newer = CHROME_WINDOWS.replace("131.0.0.0", "132.0.0.0")
    assert environment(user_agent=newer, ip_address="203.0.113.200") == seen


def test_r_d2_a_tampered_or_foreign_device_cookie_counts_as_none():
    good = risk.device_cookie_value("device-1")
    assert risk.device_id_from_cookie(good) == "device-1"
    assert risk.device_id_from_cookie(good[:-2] + "xx") == ""
    assert risk.device_id_from_cookie("device-1") == ""


def remembered(master) -> risk.Environment:
    device_id = risk.remember(master, environment())
    return environment(device_cookie=risk.device_cookie_value(device_id))


def login_challenge(
    user_login_id: str, password: str, environment: risk.Environment
) -> risk.Challenge | None:
    """The question a login from ``environment`` is asked: the login reads the recognised environment
    with the user's passwords, so the check runs through it."""
    return log_in(login_id=user_login_id, password=password, environment=environment).challenge


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"user_agent": FIREFOX_LINUX}, "browser"),
        ({"accept_language": "en-US,en"}, "languages"),
        ({"ip_address": "198.51.100.7"}, "network"),
    ],
)
def test_r_d2_any_change_asks_a_question(master, change, reason):
    known = remembered(master)
    assert login_challenge(MASTER_LOGIN_ID, MASTER_PASSWORD, known) is None
    changed = environment(device_cookie=risk.device_cookie_value(known.device_id), **change)
    challenge = login_challenge(MASTER_LOGIN_ID, MASTER_PASSWORD, changed)
    assert challenge is not None and reason in challenge.reasons
    assert challenge.question in {question.question for question in master.secret_questions.all()}


def test_r_d2_no_cookie_asks_and_another_users_environment_does_not_count(master, general):
    challenge = login_challenge(MASTER_LOGIN_ID, MASTER_PASSWORD, environment())
    assert challenge is not None and challenge.reasons == ("cookie",)
    device_id = risk.remember(general, environment())
    foreign = environment(device_cookie=risk.device_cookie_value(device_id))
    assert login_challenge(MASTER_LOGIN_ID, MASTER_PASSWORD, foreign) is not None


def test_r_d2_a_login_from_an_unknown_environment_waits_for_the_answer(master):
    outcome = log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD, environment=environment())
    assert outcome.challenge is not None and outcome.session_epoch == 0
    assert AuditEvent.objects.filter(action="login.additional_auth_required").count() == 1
    assert not AuditEvent.objects.filter(action="login.succeeded").exists()
    done = risk_answer(master, outcome.challenge.position, ANSWER.join("  "))
    assert done.challenge is None and done.device_id
    assert AuditEvent.objects.get(action="login.succeeded").details["additional_auth"] is True
    again = environment(device_cookie=risk.device_cookie_value(done.device_id))
    assert log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD, environment=again).challenge is None


def risk_answer(user, position, answer):
    from corpbank.authentication import services as authentication

    return authentication.answer_challenge(
        user_id=user.pk, position=position, answer=answer, environment=environment()
    )


def test_r_d2_wrong_answers_go_through_the_lockout(master):
    challenge = log_in(
        login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD, environment=environment()
    ).challenge
    for _ in range(5):
        with pytest.raises(WrongAnswer):
            risk_answer(master, challenge.position, "ちがう")
    with pytest.raises(LockedOut):
        risk_answer(master, challenge.position, "ちがう")
    with pytest.raises(LockedOut):  # the right answer, and even the password, meet the lockout now
        risk_answer(master, challenge.position, ANSWER)
    with pytest.raises(LockedOut):
        log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD)
    assert AuditEvent.objects.get(action="principal.locked").details["kind"] == "secret_answer"


def test_r_d1_a_user_without_questions_registers_them_first(registered):
    from tests.conftest import activate_master

    master = activate_master(registered, questions=False)
    outcome = log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD, environment=environment())
    assert outcome.challenge is None and outcome.must_register_questions
    pairs = [("first_pet", "ポチ"), ("birthplace", "横浜市"), ("teacher", "山田先生")]
    device_id = risk.register_questions(user=master, pairs=pairs, environment=environment())
    stored = Secret.objects.filter(principal_id=master.principal_id, kind=SecretKind.SECRET_ANSWER)
    assert stored.count() == 3 and all(secret.hash.startswith("$argon2id$") for secret in stored)
    assert not any("ポチ" in secret.hash for secret in stored)
    assert KnownEnvironment.objects.get(user=master).device_id == device_id
    with pytest.raises(Conflict):
        risk.register_questions(user=master, pairs=pairs, environment=environment())


@pytest.mark.parametrize(
    ("pairs", "field"),
    [
        ([("first_pet", "ポチ"), ("first_pet", "タマ"), ("teacher", "山田")], "question_2"),
        ([("first_pet", "ポチ"), ("nonsense", "タマ"), ("teacher", "山田")], "question_2"),
        ([("first_pet", "ポ"), ("birthplace", "横浜"), ("teacher", "山田")], "answer_1"),
        ([("first_pet", "ポチ"), ("birthplace", "横浜"), ("teacher", "  ")], "answer_3"),
    ],
)
def test_r_d1_questions_are_three_different_ones_with_real_answers(registered, pairs, field):
    from tests.conftest import activate_master

    master = activate_master(registered, questions=False)
    with pytest.raises(ValidationFailed) as refused:
        risk.register_questions(user=master, pairs=pairs, environment=environment())
    assert field in refused.value.fields
    assert not SecretQuestion.objects.exists()


def test_r_d3_the_master_resets_a_general_users_questions(master, general):
    with pytest.raises(FactorsRejected):
        risk.reset_by_master(
            master=master, factors={"confirmation_password": "Wrong1conf"}, user_id=general.pk
        )
    risk.reset_by_master(
        master=master, factors={"confirmation_password": MASTER_CONFIRMATION}, user_id=general.pk
    )
    assert not SecretQuestion.objects.filter(user=general).exists()
    assert not KnownEnvironment.objects.filter(user=general).exists()
    outcome = log_in(login_id=GENERAL_LOGIN_ID, password="Init1login", environment=recognised_environment())
    assert outcome.must_register_questions and outcome.challenge is None
    with pytest.raises(Conflict):  # nothing left to reset
        risk.reset_by_master(
            master=master, factors={"confirmation_password": MASTER_CONFIRMATION}, user_id=general.pk
        )


def test_r_d3_the_masters_questions_are_reset_by_the_bank_with_four_eyes(master, operators):
    entered = backoffice.enter_procedure(operators[0], master.contract_id, "reset-master-questions")
    assert SecretQuestion.objects.filter(user=master).count() == 3  # waits for the second operator
    backoffice.approve(operators[1], entered.pk)
    assert not SecretQuestion.objects.filter(user=master).exists()
    assert log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD).must_register_questions
    register_test_questions(master)  # and registers new ones
    assert SecretQuestion.objects.filter(user=master).count() == 3
