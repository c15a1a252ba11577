"""What an outside probe of the API found (issue 14's review, stop 22): every answer under /api/v1/ is
the API's error shape in the user's language, whatever refused the request: the schema's checks
(pydantic's types), ninja's body parser and CSRF check, Django's URL resolver, a method the endpoint
does not take, a server error. A body must be UTF-8 JSON with each key once."""

from __future__ import annotations

import json

import pytest

from corpbank.api import schema_message
from corpbank.authentication import selectors as authentication_selectors
from tests.api.test_api import ApiClient, customer

ENGLISH = {"Accept-Language": "en"}


def _raw(client: ApiClient, path: str, data: bytes, **headers: str):
    return client.client.post(
        f"/api/v1{path}",
        data=data,
        content_type="application/json",
        headers={"X-CSRFToken": client.client.cookies["csrftoken"].value, **headers},
    )


def test_schema_errors_are_told_in_japanese_and_in_english(db):
    client = ApiClient()
    status, body = client.post("/auth/login", {"login_id": 5})
    assert status == 422
    assert body["error"]["fields"] == {
        "login_id": "文字列で指定してください。",
        "password": "入力してください（必須項目です）。",
    }
    status, body = client.post("/auth/login", {"login_id": 5}, headers=ENGLISH)
    assert body["error"]["fields"] == {
        "login_id": "Give a string.",
        "password": "Required: enter it.",
    }


def test_a_path_id_that_is_no_number_is_told_in_the_users_language(master):
    status, body = customer().get("/users/abc")
    assert status == 422
    assert body["error"]["fields"] == {"user_id": "整数で指定してください。"}


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ({"type": "greater_than_equal", "ctx": {"ge": 0}}, "0以上の値を指定してください。"),
        ({"type": "string_too_long", "ctx": {"max_length": 80}}, "80文字以内で指定してください。"),
        (
            {"type": "date_from_datetime_parsing", "ctx": {"error": "day value is outside expected range"}},
            "日付を「2026-12-01」の形で、存在する日付を指定してください。",
        ),
        ({"type": "some_new_pydantic_type", "msg": "Input should be something"}, "形式が正しくありません。"),
        ({"type": "value_error", "ctx": {"error": ValueError("English")}}, "形式が正しくありません。"),
    ],
)
def test_no_schema_message_is_pydantics_english(problem, expected):
    assert schema_message(problem) == expected


def test_a_body_that_is_not_json_is_told_in_the_users_language(db):
    client = ApiClient()
    response = _raw(client, "/auth/login", b"login_id=x&y")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "http_error" and "UTF-8 の JSON" in error["message"]
    response = _raw(client, "/auth/login", b"login_id=x&y", **ENGLISH)
    assert "UTF-8 JSON object" in response.json()["error"]["message"]


def test_a_utf16_body_and_a_repeated_key_are_refused(db):
    client = ApiClient()
    body = json.dumps({"login_id": "master01", "password": "x"})
    assert _raw(client, "/auth/login", body.encode("utf-16")).status_code == 400
    repeated = b'{"login_id": "master01", "password": "x", "login_id": "someone"}'
    response = _raw(client, "/auth/login", repeated)
    assert response.status_code == 400 and response.json()["error"]["code"] == "http_error"


def test_the_csrf_failure_is_told_in_the_users_language(db):
    status, body = ApiClient().post("/auth/login", {}, csrf=False)
    assert status == 403 and body["error"]["code"] == "csrf_failed"
    assert "X-CSRFToken" in body["error"]["message"] and "CSRFトークン" in body["error"]["message"]
    status, body = ApiClient().post("/auth/login", {}, csrf=False, headers=ENGLISH)
    assert body["error"]["message"].startswith("The CSRF token")


def test_an_unknown_path_and_a_wrong_method_answer_json(master):
    client = customer()
    response = client.client.get("/api/v1/nonexistent")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "指定されたAPIはありません。URLをご確認ください。",
        "fields": {},
    }
    response = client.client.delete(
        "/api/v1/users/1", headers={"X-CSRFToken": client.client.cookies["csrftoken"].value}
    )
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"
    assert response["Allow"] and response["Allow"] in response.json()["error"]["message"]
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]


def test_a_server_error_under_the_api_answers_json(master, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    client = customer()
    monkeypatch.setattr(authentication_selectors, "login_history", broken)
    client.client.raise_request_exception = False
    response = client.client.get("/api/v1/me/login-history", headers=ENGLISH)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "boom" not in response.content.decode()


def test_a_body_with_a_utf8_byte_order_mark_is_read_and_one_not_an_object_is_refused(master):
    client = ApiClient()
    body = json.dumps({"login_id": "master01", "password": "Wrong1pass"}).encode()
    assert _raw(client, "/auth/login", b"\xef\xbb\xbf" + body).status_code == 401  # read, and wrong
    for other in (b"[1, 2]", b"5", b'"x"', b"null"):
        response = _raw(client, "/auth/login", other)
        assert response.status_code == 400 and "オブジェクト" in response.json()["error"]["message"], other


def test_the_api_error_shape_keeps_the_answers_cookies(master):
    """A 404 under /api/ for a session the bank ended still deletes the session cookie."""
    from corpbank.identity import lockout

    client = customer()
    lockout.end_sessions(master.principal_id)
    response = client.client.get("/api/v1/nonexistent")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert response.cookies["sessionid"].value == ""
