"""Behind nginx (R-F1): the documented server blocks (docs/nginx/corpbank.conf) in front of corpbank,
with real TLS handshakes on 127.0.0.1. nginx verifies the client certificate against the CA and the
CRL and forwards it in the RFC 9440 Client-Cert header, which corpbank believes from 127.0.0.1 only.
The back office has a server block of its own on the internal network (issue 12 item 7), where 解約
(item 10) revokes a contract's certificates: with the CRL the bank publishes, nginx refuses them."""

from __future__ import annotations

import dataclasses
import errno
import http.client
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from corpbank.backoffice.services.operators import TOTP_STEP_SECONDS
from corpbank.tokens import totp
from tests.conftest import OPERATOR_PASSWORD, OPERATOR_TOTP_SEED
from tests.servers import (
    BIN,
    ROOT,
    free_port,
    gunicorn_bind,
    json_exchange,
    listening_socket,
    on_a_free_port,
    port_of,
)
from tests.tls.conftest import TlsBank
from tests.tls.seeding import LEAVING
from tests.tls.test_mutual_tls import Browser

pytestmark = pytest.mark.tls
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
JS_MODULE = Path("/usr/lib/nginx/modules/ngx_http_js_module.so")
BACKOFFICE_HOST = "backoffice.rokin.internal"


@dataclasses.dataclass(frozen=True)
class BehindNginx(TlsBank):
    """The TLS bank as nginx serves it: the customers' server on ``port``, the back office's internal
    server on ``backoffice_port``."""

    backoffice_port: int = 0
    nginx_pid: int = 0
    tmp: Path = Path()

    def publish_crl(self) -> None:
        """What the bank's cron does: the CA's current CRL to nginx's file, then ``nginx -s reload``."""
        subprocess.run(
            [str(BIN / "corpbank"), "ca", "crl", "--out", str(self.tmp / "crl.pem")],
            env=self.env,
            check=True,
            timeout=120,
        )
        os.kill(self.nginx_pid, signal.SIGHUP)


def documented_block(
    tmp: Path, *, listen: int, backoffice_listen: int, upstream: int, cert: Path, key: Path
) -> str:
    """docs/nginx/corpbank.conf with this test's addresses and files in place of the production ones;
    the back office's internal network is 127.0.0.1 (and 127.0.0.2 is outside it)."""
    text = (ROOT / "docs/nginx/corpbank.conf").read_text()
    for production, here in {
        "listen 443 ssl;": f"listen 127.0.0.1:{listen} ssl;",
        "listen 10.0.0.10:443 ssl;": f"listen 127.0.0.1:{backoffice_listen} ssl;",
        "allow 10.0.0.0/8;": "allow 127.0.0.1;",
        "http://127.0.0.1:8000": f"http://127.0.0.1:{upstream}",
        "/etc/ssl/ib/fullchain.pem": str(cert),
        "/etc/ssl/ib/privkey.pem": str(key),
        "/etc/ssl/backoffice/fullchain.pem": str(cert),
        "/etc/ssl/backoffice/privkey.pem": str(key),
        "/etc/corpbank/client_cert.js": str(ROOT / "docs/nginx/client_cert.js"),
        "/etc/corpbank/client-ca.pem": str(tmp / "client-ca.pem"),
        "/etc/corpbank/crl.pem": str(tmp / "crl.pem"),
    }.items():
        assert production in text, production
        text = text.replace(production, here)
    return text


@pytest.fixture(scope="module")
def behind_nginx(tls_bank, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not (Path(NGINX).exists() and JS_MODULE.exists()):
        pytest.fail("the nginx test needs Debian's nginx and libnginx-mod-http-js (make system-deps)")
    tmp = tmp_path_factory.mktemp("nginx")
    env = {
        **tls_bank.env,
        "CORPBANK_TRUSTED_PROXIES": "127.0.0.1",
        "CORPBANK_BEHIND_TLS_PROXY": "1",
        "CORPBANK_HTTPS": "1",
        # The back office only on its own host name, and only to the internal network (nginx's too).
        "CORPBANK_ALLOWED_HOSTS": f"127.0.0.1,localhost,{BACKOFFICE_HOST}",
        "CORPBANK_BACKOFFICE_HOST": BACKOFFICE_HOST,
        "CORPBANK_BACKOFFICE_NETWORKS": "127.0.0.1",
    }
    ca = subprocess.run(
        [str(BIN / "corpbank"), "ca", "certificate"], env=env, capture_output=True, check=True, timeout=120
    )
    (tmp / "client-ca.pem").write_bytes(ca.stdout)
    subprocess.run(
        [str(BIN / "corpbank"), "ca", "crl", "--out", str(tmp / "crl.pem")], env=env, check=True, timeout=120
    )
    app_log = (tmp / "app.log").open("w")
    with listening_socket() as upstream_socket:  # the app keeps it; this process closes its copy
        upstream = port_of(upstream_socket)
        bind, handed = gunicorn_bind(upstream_socket)
        app = subprocess.Popen(
            [str(BIN / "corpbank"), "serve", *bind, "--workers", "1"],
            env=env,
            stdout=app_log,
            stderr=subprocess.STDOUT,
            **handed,  # type: ignore[arg-type]
        )
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )

    backoffice = {"port": 0}

    def start_nginx(listen: int) -> subprocess.Popen[bytes]:
        """nginx listening on ``listen`` and a free port for the back office; OSError(EADDRINUSE) when
        somebody took either port meanwhile."""
        backoffice["port"] = free_port()
        block = documented_block(
            tmp,
            listen=listen,
            backoffice_listen=backoffice["port"],
            upstream=upstream,
            cert=tls_bank.server_ca,
            key=tls_bank.var_dir / "server-key.pem",
        )
        (tmp / "corpbank.conf").write_text(block)
        (tmp / "nginx.conf").write_text(
            f"""load_module {JS_MODULE};
daemon off;
worker_processes 1;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} info;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 64; }}
http {{
    access_log {tmp / "access.log"};
{temp_paths}
    include {tmp / "corpbank.conf"};
}}
"""
        )
        (tmp / "error.log").unlink(missing_ok=True)
        (tmp / "nginx.pid").unlink(missing_ok=True)
        process = subprocess.Popen(
            [NGINX, "-c", str(tmp / "nginx.conf"), "-p", str(tmp)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        # nginx writes its pid file once it has bound its port, and logs a bind() that failed.
        deadline = time.monotonic() + 30
        while not (tmp / "nginx.pid").exists() and process.poll() is None and time.monotonic() < deadline:
            errors = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
            if "Address already in use" in errors:
                process.kill()
                process.wait(timeout=30)
                raise OSError(errno.EADDRINUSE, f"nginx could not bind 127.0.0.1:{listen}")
            time.sleep(0.05)
        return process

    listen, nginx = on_a_free_port(start_nginx)
    deadline = time.monotonic() + 60
    while True:
        try:
            # As nginx asks it (HTTPS by X-Forwarded-Proto): plain HTTP would be redirected to HTTPS.
            probe = urllib.request.Request(
                f"http://127.0.0.1:{upstream}/login", headers={"X-Forwarded-Proto": "https"}
            )
            with urllib.request.urlopen(probe, timeout=2):  # noqa: S310 - our own loopback server
                pass
            import socket

            with socket.create_connection(("127.0.0.1", listen), timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or app.poll() is not None or nginx.poll() is not None:
                app.kill()
                nginx.kill()
                errors = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
                raise RuntimeError(
                    f"nginx or the app did not start:\n{errors}\n{(tmp / 'app.log').read_text()}"
                ) from None
            time.sleep(0.3)
    try:
        yield BehindNginx(
            **{**tls_bank.__dict__, "port": listen, "env": env},
            backoffice_port=backoffice["port"],
            nginx_pid=nginx.pid,
            tmp=tmp,
        )
    finally:
        nginx.terminate()
        app.terminate()
        nginx.wait(timeout=30)
        app.wait(timeout=30)
        app_log.close()


def test_r_f1_nginx_forwards_the_verified_certificate_and_it_logs_in(behind_nginx):
    browser = Browser(behind_nginx, "master")
    status, body = browser.log_in()
    assert status == 200, body
    assert body["login_id"] == behind_nginx.login_id


def test_without_a_certificate_a_forged_header_does_not_pass_nginx(behind_nginx):
    browser = Browser(behind_nginx)
    browser.request("GET", "/api/v1/csrf")
    connection_headers = {"Client-Cert": ":AAAA:"}
    import http.client
    import json

    connection = http.client.HTTPSConnection(
        behind_nginx.host, behind_nginx.port, context=browser.context, timeout=30
    )
    connection.request(
        "POST",
        "/api/v1/auth/login",
        body=json.dumps({"login_id": behind_nginx.login_id, "password": behind_nginx.password}),
        headers={
            **connection_headers,
            "Content-Type": "application/json",
            "Origin": behind_nginx.url,
            "Referer": behind_nginx.url + "/",
            "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items()),
            "X-CSRFToken": browser.cookies["csrftoken"],
        },
    )
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == 403 and body["error"]["code"] == "certificate_required"


@pytest.mark.parametrize(("holder", "says"), [("revoked", "失効"), ("expired", "有効期限")])
def test_nginx_stops_a_revoked_or_expired_certificate_and_corpbank_says_why(behind_nginx, holder, says):
    status, page = Browser(behind_nginx, holder).request("GET", "/login")
    assert status == 403 and "電子証明書を確認できません" in page and says in page


def test_the_reason_is_believed_from_the_proxy_only(db, settings):
    from tests.conftest import Client

    forged = Client(HTTP_CLIENT_VERIFY="FAILED:certificate has expired").get("/certificate/error")
    assert forged.status_code == 403 and "有効期限" not in forged.content.decode()
    settings.CORPBANK_TRUSTED_PROXIES = ["127.0.0.1"]
    proxied = Client(HTTP_CLIENT_VERIFY="FAILED:certificate has expired").get("/certificate/error")
    assert "有効期限" in proxied.content.decode()


# ---------------------------------------------------------------------------------------------------
# The back office's server block, and 解約 (issue 12 items 7 and 10)

_used_steps: dict[str, int] = {}


def operator_code(login_name: str) -> str:
    """The tests' authenticator app, on the real clock: a step of the window not used before by this
    run (the server accepts a code once)."""
    current = totp.time_step(time.time(), TOTP_STEP_SECONDS)
    step = max(current - 1, _used_steps.get(login_name, current - 2) + 1)
    assert step <= current + 1, f"{login_name} logged in more than three times in one step"
    _used_steps[login_name] = step
    return totp.hotp(OPERATOR_TOTP_SEED, step)


class BackOffice:
    """An operator's PC on the internal network: the back office's host name, its own cookies."""

    def __init__(self, bank: BehindNginx, *, source: str = "127.0.0.1", host: str = BACKOFFICE_HOST) -> None:
        self.bank, self.source = bank, source
        self.port = bank.backoffice_port
        self.origin = f"https://{host}:{self.port}"
        self.host = f"{host}:{self.port}"
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None, *, port: int = 0) -> tuple[int, str]:
        connection = http.client.HTTPSConnection(
            self.bank.host,
            port or self.port,
            context=self.bank.context(),
            timeout=30,
            source_address=(self.source, 0),
        )
        headers = {"Host": self.host, "Origin": self.origin, "Referer": self.origin + "/backoffice/"}
        return json_exchange(connection, method, path, body, headers, self.cookies, "corpbank_bo_csrftoken")

    def log_in(self, login_name: str) -> BackOffice:
        status, _ = self.request("GET", "/api/v1/backoffice/csrf")
        assert status == 200
        status, text = self.request(
            "POST",
            "/api/v1/backoffice/auth/login",
            {"login_name": login_name, "password": OPERATOR_PASSWORD, "otp": operator_code(login_name)},
        )
        assert status == 200, text
        return self

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        status, text = self.request(method, f"/api/v1/backoffice{path}", body)
        return status, json.loads(text) if text else {}


def test_the_back_office_is_not_on_the_customers_server(behind_nginx):
    customer = Browser(behind_nginx)
    for path in ("/backoffice/login", "/api/v1/backoffice/csrf"):
        assert customer.request("GET", path)[0] == 404
    # Not even with the back office's host name, through the customers' server.
    forged = BackOffice(behind_nginx)
    for path in ("/backoffice/login", "/api/v1/backoffice/csrf", "/login"):
        assert forged.request("GET", path, port=behind_nginx.port)[0] == 404
    assert customer.request("GET", "/login")[0] == 200


def test_the_back_offices_server_answers_the_internal_network_only(behind_nginx):
    operator = BackOffice(behind_nginx)
    status, page = operator.request("GET", "/backoffice/login")
    assert status == 200 and 'name="login_name"' in page
    assert set(operator.cookies) == {"corpbank_bo_csrftoken"}
    assert operator.request("GET", "/login")[0] == 404  # nothing of the customers' site
    outsider = BackOffice(behind_nginx, source="127.0.0.2")
    assert outsider.request("GET", "/backoffice/login")[0] == 403  # nginx's deny
    # The application itself, should the proxy let a request through with the customers' host name.
    assert BackOffice(behind_nginx, host="127.0.0.1").request("GET", "/backoffice/login")[0] == 404


def test_r_f6_termination_revokes_the_certificates_and_nginx_refuses_their_handshake(behind_nginx, tls_bank):
    leaving = Browser(behind_nginx, "leaving")
    status, body = leaving.log_in()
    assert status == 200 and body["login_id"] == LEAVING["login_id"]
    first = BackOffice(behind_nginx).log_in("clerk1")
    second = BackOffice(behind_nginx).log_in("clerk2")
    contract = behind_nginx.leaving_contract_id
    status, action = first.call("POST", f"/contracts/{contract}/procedures/terminate", {"reason": "解約届"})
    assert status == 202, action
    status, decided = second.call("POST", f"/actions/{action['id']}/approve", {"confirmed": True})
    assert status == 200 and decided["action"]["status"] == "approved", decided
    # The application refuses the certificate at once, through nginx (which has the old CRL still)
    # and without it (gunicorn's own TLS).
    status, body = Browser(behind_nginx, "leaving").log_in()
    assert (
        status == 403
        and body["error"]["code"] == "certificate_refused"
        and "失効" in body["error"]["message"]
    )
    status, body = Browser(tls_bank, "leaving").log_in()
    assert status == 403 and body["error"]["code"] == "certificate_refused"
    # The bank publishes the new CRL: from then on nginx refuses the handshake's certificate itself.
    behind_nginx.publish_crl()
    deadline = time.monotonic() + 30
    while True:
        status, page = Browser(behind_nginx, "leaving").request("GET", "/login")
        if status == 403 and "電子証明書を確認できません" in page:
            break
        assert time.monotonic() < deadline, "nginx did not take the new CRL"
        time.sleep(0.2)
    assert "失効" in page
    # A new contract for the same organization, with the same account: the old certificate stays refused.
    status, entered = first.call(
        "POST",
        "/contracts",
        {
            "organization_name": LEAVING["organization_name"],
            "organization_name_kana": LEAVING["organization_name_kana"],  # the accounts' holder
            "branch_code": "101",
            "master_name": "再契約 太郎",
            "accounts": [{"branch_code": "101", "type": "1", "number": LEAVING["account"]}],
            "login_method": "certificate",
            "pins": {
                "inquiry_pin": "1111",
                "transfer_pin": "2222",
                "confirmation_pin": "3333",
                "approval_pin": "4444",
            },
        },
    )
    assert status == 202, entered
    status, decided = second.call("POST", f"/actions/{entered['id']}/approve", {"confirmed": True})
    assert status == 200 and decided["letter"]["contract_number"], decided
    assert Browser(behind_nginx, "leaving").request("GET", "/login")[0] == 403
    assert Browser(tls_bank, "leaving").log_in()[0] == 403
    # The other contract's master is untouched.
    assert Browser(behind_nginx, "master").log_in()[0] == 200
