"""Behind nginx (R-F1): the documented server block (docs/nginx/corpbank.conf) in front of corpbank,
with real TLS handshakes on 127.0.0.1. nginx verifies the client certificate against the CA and the
CRL and forwards it in the RFC 9440 Client-Cert header, which corpbank believes from 127.0.0.1 only."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import BIN, ROOT, gunicorn_bind, listening_socket, on_a_free_port, port_of
from tests.tls.test_mutual_tls import Browser

pytestmark = pytest.mark.tls
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
JS_MODULE = Path("/usr/lib/nginx/modules/ngx_http_js_module.so")


def documented_block(tmp: Path, *, listen: int, upstream: int, cert: Path, key: Path) -> str:
    """docs/nginx/corpbank.conf with this test's addresses and files in place of the production ones."""
    text = (ROOT / "docs/nginx/corpbank.conf").read_text()
    for production, here in {
        "listen 443 ssl;": f"listen 127.0.0.1:{listen} ssl;",
        "http://127.0.0.1:8000": f"http://127.0.0.1:{upstream}",
        "/etc/ssl/ib/fullchain.pem": str(cert),
        "/etc/ssl/ib/privkey.pem": str(key),
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

    def start_nginx(listen: int) -> subprocess.Popen[bytes]:
        """nginx listening on ``listen``; OSError(EADDRINUSE) when somebody took the port meanwhile."""
        block = documented_block(
            tmp,
            listen=listen,
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
            with urllib.request.urlopen(f"http://127.0.0.1:{upstream}/login", timeout=2):
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
        yield type(tls_bank)(**{**tls_bank.__dict__, "port": listen})
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
