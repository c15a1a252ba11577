"""Certificate login over real mutual TLS with ``corpbank serve --tls`` (R-F1, R-F3, R-F5): handshakes on
127.0.0.1 with Python's ssl client and with curl."""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.servers import json_exchange

pytestmark = pytest.mark.tls


class Browser:
    """One TLS client with its cookies, as a browser holding (or not) a certificate."""

    def __init__(self, bank, holder: str | None = None) -> None:  # type: ignore[no-untyped-def]
        self.bank = bank
        self.context = bank.context(holder)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
        connection = http.client.HTTPSConnection(
            self.bank.host, self.bank.port, context=self.context, timeout=30
        )
        headers = {"Origin": self.bank.url, "Referer": self.bank.url + "/"}
        return json_exchange(connection, method, path, body, headers, self.cookies, "csrftoken")

    def log_in(self, login_id: str = "") -> tuple[int, dict]:
        self.request("GET", "/api/v1/csrf")
        status, text = self.request(
            "POST", "/api/v1/auth/login", {"login_id": login_id, "password": self.bank.password}
        )
        return status, json.loads(text)


def test_r_f1_the_certificate_names_the_user_and_the_password_logs_in(tls_bank):
    browser = Browser(tls_bank, "master")
    status, body = browser.log_in()  # no login ID: the certificate says who
    assert status == 200, body
    assert body["login_id"] == tls_bank.login_id
    assert browser.request("GET", "/api/v1/me")[0] == 200


def test_r_f1_without_a_certificate_the_contract_refuses_with_a_clear_message(tls_bank):
    browser = Browser(tls_bank)
    status, body = browser.log_in(tls_bank.login_id)
    assert status == 403 and body["error"]["code"] == "certificate_required"
    assert "電子証明書を選択して" in body["error"]["message"]
    assert 'name="login_id"' in browser.request("GET", "/login")[1]


def test_a_revoked_certificate_is_refused(tls_bank):
    status, body = Browser(tls_bank, "revoked").log_in()
    assert status == 403 and body["error"]["code"] == "certificate_refused"
    assert "失効" in body["error"]["message"]


def test_an_expired_certificate_is_refused_by_corpbank_with_its_message(tls_bank):
    """The handshake lets the bank's expired certificate through (gunicorn_tls), so the customer
    reads why and what to do instead of the browser's TLS error; corpbank refuses it (R-F1)."""
    status, body = Browser(tls_bank, "expired").log_in()
    assert status == 403 and body["error"]["code"] == "certificate_refused"
    assert "有効期限" in body["error"]["message"] and "再発行" in body["error"]["message"]


def test_a_certificate_of_another_ca_fails_the_handshake(tls_bank, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, tls_bank.login_id)])
    now = datetime.now(UTC)
    foreign = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(foreign.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    tls_bank.files["foreign"] = {"cert": str(tmp_path / "cert.pem"), "key": str(tmp_path / "key.pem")}
    with pytest.raises(ssl.SSLError, match=r"(?i)certificate|unknown ca"):
        Browser(tls_bank, "foreign").log_in()


def curl(tls_bank, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        ["curl", "--silent", "--show-error", "--cacert", str(tls_bank.server_ca), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_curl_with_the_certificate_sees_its_holder_on_the_login_page(tls_bank):
    files = tls_bank.files["master"]
    done = curl(tls_bank, "--cert", files["cert"], "--key", files["key"], f"{tls_bank.url}/login")
    assert done.returncode == 0, done.stderr
    assert 'id="certificate-holder"' in done.stdout and tls_bank.login_id in done.stdout
    assert 'name="login_id"' not in done.stdout
    revoked = tls_bank.files["revoked"]
    done = curl(tls_bank, "--cert", revoked["cert"], "--key", revoked["key"], f"{tls_bank.url}/login")
    assert "失効" in done.stdout


def test_the_crl_lists_the_revoked_certificate(tls_bank):
    done = subprocess.run(
        ["curl", "--silent", "--cacert", str(tls_bank.server_ca), f"{tls_bank.url}/ca/crl"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    crl = x509.load_der_x509_crl(done.stdout)
    revoked = x509.load_pem_x509_certificate(Path(tls_bank.files["revoked"]["cert"]).read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(revoked.serial_number) is not None
