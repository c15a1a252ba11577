"""追加認証 through the JSON API (R-D1, R-D2, R-D3)."""

from __future__ import annotations

from corpbank.authentication import risk
from corpbank.authentication.models import SecretQuestion
from tests.api.test_api import ApiClient, customer
from tests.conftest import ANSWER, MASTER_CONFIRMATION, MASTER_LOGIN_ID, MASTER_PASSWORD, Client


def unknown_browser() -> ApiClient:
    client = ApiClient()
    client.client = Client(enforce_csrf_checks=True, recognised=False)
    client.client.get("/api/v1/csrf")
    return client


def test_r_d2_login_from_an_unknown_environment_answers_202_with_a_question(master):
    client = unknown_browser()
    status, body = client.post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    assert status == 202 and body["question"] in {"first_pet", "birthplace", "teacher"}
    assert body["question_label"].endswith("？")
    assert client.get("/me")[0] == 401  # no session yet
    status, body = client.post("/auth/additional-auth", {"answer": "ちがう"})
    assert status == 401 and body["error"]["code"] == "wrong_answer"
    status, body = client.post("/auth/additional-auth", {"answer": ANSWER.upper()})
    assert status == 200 and body["login_id"] == MASTER_LOGIN_ID
    assert risk.DEVICE_COOKIE in client.client.cookies
    assert client.get("/me")[0] == 200
    status, _ = client.post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    assert status == 200  # recognised now


def test_r_d2_answering_without_a_waiting_login_is_refused(db):
    status, body = unknown_browser().post("/auth/additional-auth", {"answer": ANSWER})
    assert status == 401 and body["error"]["code"] == "additional_auth_expired"


def test_r_d2_answering_needs_csrf(master):
    client = unknown_browser()
    client.post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    assert client.post("/auth/additional-auth", {"answer": ANSWER}, csrf=False)[0] == 403


def forget_questions(user) -> None:  # type: ignore[no-untyped-def]
    from django.db import transaction

    from corpbank.core import audit

    with transaction.atomic():
        risk.reset(user, actor=audit.Actor.system("test"), reason="test")


def test_r_d1_question_choices_then_three_different_questions(master):
    forget_questions(master)
    client = customer()
    assert client.get("/me")[1]["must_register_questions"] is True
    assert client.get("/me/login-history")[1]["error"]["code"] == "secret_questions_required"
    choices = client.get("/secret-questions")[1]
    assert len(choices) >= 3 and all(choice["label"] for choice in choices)
    same = [{"question": choices[0]["question"], "answer": "こたえ"}] * 3
    status, body = client.post("/me/secret-questions", {"questions": same})
    # Named by their paths in the body (issue 14's API probe, D6).
    assert status == 422 and set(body["error"]["fields"]) == {"questions.1.question", "questions.2.question"}
    status, body = client.post("/me/secret-questions", {"questions": same[:1]})
    assert status == 422  # one question is not three: told, not an empty list of fields (D7)
    assert body["error"]["fields"] == {"questions": "異なる質問を3つ選び、それぞれの回答を入力してください。"}
    status, body = client.post(
        "/me/secret-questions",
        {"questions": [{"question": c["question"], "answer": ""} for c in choices[:3]]},
    )
    assert status == 422 and set(body["error"]["fields"]) == {f"questions.{i}.answer" for i in range(3)}
    three = [{"question": choice["question"], "answer": "こたえ"} for choice in choices[:3]]
    assert client.post("/me/secret-questions", {"questions": three})[0] == 204
    assert client.get("/me/login-history")[0] == 200
    assert client.post("/me/secret-questions", {"questions": three})[0] == 409


def test_r_d3_the_master_resets_through_the_api(master, general):
    client = customer()
    factors = {"factors": {"confirmation_password": MASTER_CONFIRMATION}}
    assert client.post(f"/users/{general.pk}/secret-questions/reset", factors)[0] == 204
    assert not SecretQuestion.objects.filter(user=general).exists()
    status, _ = client.post(f"/users/{master.pk}/secret-questions/reset", factors)
    assert status == 404  # the master's own: only the bank, on paper


def test_r_d2_an_empty_answer_is_told_and_counts_against_nobody(master):
    """issue 14's API probe (S6): an empty answer was a wrong one, counted like a password."""
    from corpbank.identity.models import FailureCounter

    client = unknown_browser()
    client.post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    status, body = client.post("/auth/additional-auth", {"answer": "　"})
    assert status == 422 and body["error"]["fields"] == {"answer": "回答を入力してください。"}
    assert not FailureCounter.objects.filter(principal_id=master.principal_id, kind="secret_answer").exists()
    status, body = client.post("/auth/additional-auth", {"answer": ANSWER})
    assert status == 200  # the login still waits for its answer
