"""A real server for the browser tests: gunicorn (the production server) in a subprocess, on its own
database (a SQLite file on the SQLite leg, a fresh PostgreSQL database on the PostgreSQL leg), loaded
with the demo bank; and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import (
    BIN,
    corpbank,
    gunicorn_bind,
    listening_socket,
    own_database,
    port_of,
    server_environment,
)

CHROMIUM = os.environ.get("CORPBANK_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
OPERATOR_WINDOW_STEPS = 5


@pytest.fixture(scope="session")
def server_mail() -> Iterator[tuple[int, list[object]]]:
    """The SMTP server the bank's server sends its mail to: (port, received messages)."""
    from tests.conftest import running_smtp_server

    with running_smtp_server() as running:
        yield running


@pytest.fixture(scope="session")
def server_socket() -> Iterator[socket.socket]:
    """The socket the server will serve on, bound now so that its port is this run's from the start."""
    with listening_socket() as listener:
        yield listener


@pytest.fixture(scope="session")
def server_env(  # type: ignore[no-untyped-def]
    tmp_path_factory: pytest.TempPathFactory, server_mail, server_socket: socket.socket
) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("server")
    port = port_of(server_socket)
    base = f"http://127.0.0.1:{port}"
    with own_database(tmp, "corpbank_browser_tests") as database:
        yield server_environment(
            tmp,
            database,
            CORPBANK_SMTP_HOST="127.0.0.1",
            CORPBANK_SMTP_PORT=str(server_mail[0]),
            CORPBANK_SOFTTOKEN_APP_URL=f"{base}/softtoken/",
            CORPBANK_TEST_BASE_URL=base,
            CORPBANK_TEST_PORT=str(port),
            CORPBANK_INSECURE_HTTP="1",  # the browser tests' server is plain http://127.0.0.1
            # The browser tests log the same demo operators in many times a minute, and a code is
            # accepted once: a window of five steps each side gives each operator eleven codes per
            # 30-second step (tests/browser/test_flows.demo_operator_code), where production has three.
            CORPBANK_OTP_WINDOW_STEPS=str(OPERATOR_WINDOW_STEPS),
        )


@pytest.fixture(scope="session")
def server(server_env: dict[str, str], server_socket: socket.socket) -> Iterator[str]:
    env = server_env
    tmp = Path(env["CORPBANK_VAR_DIR"])
    corpbank(env, "migrate", "--noinput", "-v", "0")
    corpbank(env, "loaddemo")
    log = (tmp / "gunicorn.log").open("w")
    bind, handed = gunicorn_bind(server_socket)
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "corpbank.wsgi", *bind, "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        **handed,  # type: ignore[arg-type]
    )
    base = env["CORPBANK_TEST_BASE_URL"]
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/login", timeout=2):  # noqa: S310 - our own loopback server
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(
                    f"the server did not start: {(tmp / 'gunicorn.log').read_text()}"
                ) from None
            time.sleep(0.3)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Debian's chromium at {CHROMIUM} (make system-deps)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser, server):  # type: ignore[no-untyped-def]
    """A fresh browser profile (context) per call, like a different PC."""
    contexts = []

    def make(locale: str = "ja-JP"):  # type: ignore[no-untyped-def]
        context = browser.new_context(base_url=server, locale=locale)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
