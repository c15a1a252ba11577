"""A bank served with real TLS: ``corpbank serve --tls`` (gunicorn terminating TLS and asking for client
certificates) on its own database, with the certificates of tests/tls/seeding.py on disk."""

from __future__ import annotations

import dataclasses
import json
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import BIN, corpbank, database_url, free_port, server_environment, server_shell


@dataclasses.dataclass(frozen=True)
class TlsBank:
    host: str
    port: int
    server_ca: Path  # the self-signed server certificate, which clients trust
    var_dir: Path
    env: dict[str, str]
    login_id: str
    password: str
    files: dict[str, dict[str, str]]

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def context(self, holder: str | None = None) -> ssl.SSLContext:
        """A client's TLS context: it trusts the server, and presents ``holder``'s certificate."""
        context = ssl.create_default_context(cafile=str(self.server_ca))
        if holder is not None:
            paths = self.files[holder]
            context.load_cert_chain(paths["cert"], paths["key"])
        return context


@pytest.fixture(scope="session")
def tls_bank(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBank]:
    tmp = tmp_path_factory.mktemp("tls")
    env = server_environment(tmp, database_url(tmp, "corpbank_tls_tests"))
    corpbank(env, "migrate", "--noinput", "-v", "0")
    seeded = json.loads(
        server_shell(env, f"from tests.tls.seeding import bank; bank({str(tmp)!r})").strip().splitlines()[-1]
    )
    port = free_port()
    log = (tmp / "serve.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "corpbank"), "serve", "--tls", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    bank = TlsBank(
        "127.0.0.1",
        port,
        tmp / "server-cert.pem",
        tmp,
        env,
        seeded["login_id"],
        seeded["password"],
        seeded["files"],
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if bank.server_ca.exists():
                import http.client

                probe = http.client.HTTPSConnection(bank.host, port, context=bank.context(), timeout=2)
                probe.request("GET", "/login")
                probe.getresponse().read()
                probe.close()
                break
        except (OSError, ssl.SSLError):
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"corpbank serve --tls did not start: {(tmp / 'serve.log').read_text()}")
        time.sleep(0.3)
    try:
        yield bank
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
