"""A bank served with real TLS: ``corpbank serve --tls`` (gunicorn terminating TLS and asking for client
certificates) on its own database, with the certificates of tests/tls/seeding.py on disk."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from corpbank.management.commands.serve import self_signed
from tests.servers import (
    BIN,
    corpbank,
    gunicorn_bind,
    listening_socket,
    own_database,
    port_of,
    server_environment,
    server_shell,
)


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
    leaving_contract_id: int = 0  # the contract the nginx test terminates (解約)

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
    with _serving(tmp_path_factory.mktemp("tls")) as bank:
        yield bank


@contextlib.contextmanager
def _serving(tmp: Path) -> Iterator[TlsBank]:
    with own_database(tmp, "corpbank_tls_tests") as database, listening_socket() as listener:
        env = server_environment(tmp, database)
        corpbank(env, "migrate", "--noinput", "-v", "0")
        seeded = json.loads(
            server_shell(env, f"from tests.tls.seeding import bank; bank({str(tmp)!r})")
            .strip()
            .splitlines()[-1]
        )
        port = port_of(listener)
        # Made here because the server is handed a socket, not an address to name its certificate after.
        cert, key = self_signed("127.0.0.1", tmp)
        log = (tmp / "serve.log").open("w")
        bind, handed = gunicorn_bind(listener)
        process = subprocess.Popen(
            [
                str(BIN / "corpbank"),
                "serve",
                "--tls",
                *bind,
                "--cert",
                str(cert),
                "--key",
                str(key),
                "--workers",
                "1",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            **handed,  # type: ignore[arg-type]
        )
        listener.close()  # the server has its own copy
        bank = TlsBank(
            "127.0.0.1",
            port,
            cert,
            tmp,
            env,
            seeded["login_id"],
            seeded["password"],
            seeded["files"],
            seeded["leaving_contract_id"],
        )
        deadline = time.monotonic() + 60
        while True:
            try:
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
