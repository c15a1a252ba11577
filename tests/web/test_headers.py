"""What leaves the server (issue 12 item 8): nothing signed-in, no secret and no API answer is stored by
a browser or a proxy (``Cache-Control: no-store``), and production's defaults fail closed: Secure
cookies, HSTS and HTTPS only, unless the deployment says it is plain HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from corpbank.approvals.models import PendingAction
from corpbank.certificates import services as certificates
from corpbank.core import audit
from tests.api.test_api import ApiClient, customer, operator
from tests.api.test_softtoken_api import ISSUE
from tests.conftest import MASTER_LOGIN_ID, MASTER_PASSWORD, Client
from tests.web.test_backoffice_pages import APPLICATION, operator_client


def never_stored(response) -> bool:  # type: ignore[no-untyped-def]
    return "no-store" in response.get("Cache-Control", "") and response.get("Pragma") == "no-cache"


def signed_in(client: Client) -> Client:
    response = client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    return client


@pytest.mark.parametrize("path", ["/", "/admin/users", "/admin/users/new", "/settings/login-history"])
def test_every_signed_in_page_is_never_stored(master, client, path):
    response = signed_in(client).get(path)
    assert response.status_code == 200 and never_stored(response)


def test_the_logout_and_what_follows_are_never_stored(master, client):
    signed_in(client)
    assert never_stored(client.post("/logout"))
    assert never_stored(client.get("/"))  # the back button's request: back to the login page
    assert client.get("/")["Location"] == "/login"


@pytest.mark.parametrize("path", ["/login", "/register", "/backoffice/login", "/certificate/obtain"])
def test_the_login_pages_are_never_stored(db, client, path):
    response = client.get(path)
    assert response.status_code == 200 and never_stored(response)


def test_r_e9_the_seed_handed_to_the_phone_is_never_stored(softtoken_master):
    _, issued = customer().post("/me/software-token", ISSUE)
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/softtoken/provision",
        data=json.dumps(
            {
                "service_id": issued["service_id"],
                "user_id": issued["token_user_id"],
                "activation_password": ISSUE["activation_password"],
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200 and "secret" in response.json()
    assert never_stored(response)


def test_r_b7_the_initial_password_letter_is_never_stored_on_the_screen(branch, operators):
    first, second = operator_client("clerk1"), operator_client("clerk2")
    first.post("/backoffice/contracts/new", APPLICATION)
    letter = second.post(f"/backoffice/actions/{PendingAction.objects.get().pk}/approve", {"confirmed": "1"})
    assert "letter-initial-password" in letter.content.decode()
    assert never_stored(letter)
    assert never_stored(second.get("/backoffice/"))


def test_r_b7_the_initial_password_letter_is_never_stored_from_the_api(branch, operators):
    first, second = operator("clerk1"), operator("clerk2")
    status, action = first.post(
        "/backoffice/contracts",
        {
            "organization_name": "API労働組合",
            "organization_name_kana": "APIﾛｳﾄﾞｳｸﾐｱｲ",
            "branch_code": "101",
            "master_name": "API 太郎",
            "accounts": [{"branch_code": "101", "type": "1", "number": "5555555"}],
            "pins": APPLICATION_PINS,
        },
    )
    assert status == 202, action
    response = answer_of(second, "post", f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})
    assert response.status_code == 200 and response.json()["letter"]["initial_password"]
    assert never_stored(response)


def answer_of(api: ApiClient, method: str, path: str, body: object = None):  # type: ignore[no-untyped-def]
    """The whole answer (headers too) of one call of the API tests' client."""
    answers = []
    send = api.client.request

    def recording(**request):  # type: ignore[no-untyped-def]
        answers.append(send(**request))
        return answers[-1]

    api.client.request = recording  # type: ignore[method-assign]
    try:
        api.call(method, path, body)
    finally:
        api.client.request = send  # type: ignore[method-assign]
    return answers[-1]


APPLICATION_PINS = {
    name: APPLICATION[name] for name in ("inquiry_pin", "transfer_pin", "confirmation_pin", "approval_pin")
}


@pytest.mark.parametrize("path", ["/api/v1/csrf", "/api/v1/me", "/api/v1/openapi.json"])
def test_every_api_answer_is_never_stored(master, path):
    """Session data, errors and the schema alike: one rule for the whole API."""
    assert never_stored(Client().get(path))
    assert never_stored(customer().client.get(path))


def test_a_public_asset_keeps_its_caching(db, client):
    """The CA's certificate is public (R-F3): it may be cached, by anybody, while nobody is signed in."""
    certificates.init_ca(common_name="test client CA", actor=audit.Actor.system("test"))
    response = client.get("/ca/certificate.pem")
    assert response.status_code == 200 and "no-store" not in response["Cache-Control"]
    assert "public" in response["Cache-Control"]


def production_settings(**environment: str) -> dict[str, object]:
    """corpbank.settings imported afresh in a Python of its own, with no CORPBANK_ variable but the
    mandatory secrets and ``environment``."""
    names = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT"]
    names += ["SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CORPBANK_", "DJANGO_"))}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, corpbank.settings as s; "
            f"print(json.dumps({{n: getattr(s, n, None) for n in {names!r}}}))",
        ],
        env={
            **clean,
            "CORPBANK_SECRET_KEY": "k" * 40,
            "CORPBANK_SEED_KEYS": "t:" + "A" * 43 + "=",
            "CORPBANK_AUDIT_KEYS": "a:" + "B" * 43 + "=",
            "CORPBANK_VAR_DIR": os.environ.get("CORPBANK_VAR_DIR", "var"),
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_production_defaults_fail_closed():
    """No flag at all: HTTPS only, Secure cookies, HSTS for two years with the subdomains."""
    produced = production_settings()
    assert produced["SESSION_COOKIE_SECURE"] is True and produced["CSRF_COOKIE_SECURE"] is True
    assert produced["SECURE_SSL_REDIRECT"] is True
    assert produced["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600  # type: ignore[operator]
    assert produced["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True


@pytest.mark.parametrize("environment", [{"CORPBANK_INSECURE_HTTP": "1"}, {"CORPBANK_DEBUG": "1"}])
def test_plain_http_only_when_the_deployment_says_so(environment):
    produced = production_settings(**environment)
    assert produced["SESSION_COOKIE_SECURE"] is False and produced["SECURE_SSL_REDIRECT"] is False
    assert produced["SECURE_HSTS_SECONDS"] == 0


def test_tls_says_https_whatever_else_is_set():
    """``corpbank serve --tls`` sets CORPBANK_HTTPS: its cookies are Secure even under `make run`'s flag."""
    produced = production_settings(CORPBANK_HTTPS="1", CORPBANK_INSECURE_HTTP="1")
    assert produced["SESSION_COOKIE_SECURE"] is True and produced["SECURE_HSTS_SECONDS"] > 0  # type: ignore[operator]


def test_under_production_defaults_http_is_redirected_and_https_carries_hsts(master, settings):
    for name, value in production_settings().items():
        setattr(settings, name, value)
    plain = Client().get("/login")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/login"
    client = Client()
    page = client.get("/login", secure=True)
    assert page["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    response = client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD}, secure=True)
    assert response.status_code == 302 and response.cookies["sessionid"]["secure"]
    assert never_stored(client.get("/", secure=True))
