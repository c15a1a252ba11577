"""The token stock screen and endpoint: PSKC import in the back office, all or nothing (R-E1)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from corpbank.core.models import AuditEvent
from corpbank.tokens.models import Token
from tests.api.test_api import operator
from tests.conftest import Client
from tests.tokens.test_pskc_import import FIXTURES, PRESHARED, write_stock
from tests.web.test_backoffice_pages import operator_client


def upload(path) -> SimpleUploadedFile:  # type: ignore[no-untyped-def]
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="application/pskc+xml")


def test_r_e1_an_operator_imports_a_pre_shared_key_file(operators, tmp_path):
    path = write_stock(tmp_path / "psk.pskcxml", ["HW60000001", "HW60000002"], preshared=PRESHARED)
    clerk = operator_client("clerk1")
    response = clerk.post(
        "/backoffice/tokens/stock", {"file": upload(path), "key_hex": PRESHARED.hex(), "password": ""}
    )
    assert response["Location"] == "/backoffice/tokens/stock"
    page = clerk.get("/backoffice/tokens/stock").content.decode()
    assert "2台のパスワード生成機を在庫に登録しました" in page and "HW60000002" in page
    assert Token.objects.filter(state=Token.State.IN_STOCK).count() == 2
    event = AuditEvent.objects.get(action="tokens.imported")
    assert (event.actor_type, event.actor_label) == ("operator", "clerk1")
    assert event.details == {"file": "psk.pskcxml", "tokens": 2}


def test_r_e1_a_wrong_key_imports_nothing_and_says_why(operators, tmp_path):
    path = write_stock(tmp_path / "psk.pskcxml", ["HW61000001", "HW61000002"], preshared=PRESHARED)
    clerk = operator_client("clerk1")
    wrong = clerk.post("/backoffice/tokens/stock", {"file": upload(path), "key_hex": "00" * 16})
    assert wrong.status_code == 422 and 'id="error"' in wrong.content.decode()
    not_hex = clerk.post("/backoffice/tokens/stock", {"file": upload(path), "key_hex": "xyz"})
    assert "事前共有鍵は16進数で入力してください" in not_hex.content.decode()
    missing = clerk.post("/backoffice/tokens/stock", {"key_hex": ""})
    assert 'id="error_file"' in missing.content.decode()
    assert not Token.objects.exists()


def test_r_e1_the_stock_screen_needs_an_operator_and_csrf(operators):
    assert Client().get("/backoffice/tokens/stock")["Location"] == "/backoffice/login"
    clerk = Client(enforce_csrf_checks=True)
    clerk.post("/backoffice/login", {"login_name": "clerk1", "password": "x"})
    path = FIXTURES / "plain.pskcxml"
    assert clerk.post("/backoffice/tokens/stock", {"file": upload(path)}).status_code == 403


def test_r_e1_the_import_endpoint(operators, tmp_path):
    client = operator("clerk1")
    path = write_stock(tmp_path / "pbkdf2.pskcxml", ["HW62000001"], password="Stock-Pass-2026")
    headers = {"X-CSRFToken": client.client.cookies["corpbank_bo_csrftoken"].value}  # the back office's own
    response = client.client.post(
        "/api/v1/backoffice/tokens/import",
        {"file": upload(path), "password": "Stock-Pass-2026"},
        headers=headers,
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"serials": ["HW62000001"]}
    again = client.client.post(
        "/api/v1/backoffice/tokens/import",
        {"file": upload(path), "password": "Stock-Pass-2026"},
        headers=headers,
    )
    assert again.status_code == 422 and again.json()["error"]["code"] == "import_refused"
    no_csrf = client.client.post(
        "/api/v1/backoffice/tokens/import", {"file": upload(FIXTURES / "plain.pskcxml")}
    )
    assert no_csrf.status_code == 403
    assert Token.objects.count() == 1
