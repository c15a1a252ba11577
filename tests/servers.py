"""Real servers for tests that talk to the production server from outside (the browser tests, the TLS
tests): a port of their own, a database of their own on the leg's engine, the server's environment, and
Python run inside the server's Django (``corpbank shell``) to set up or inspect its database."""

from __future__ import annotations

import contextlib
import errno
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TypeVar

from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@contextlib.contextmanager
def listening_socket() -> Iterator[socket.socket]:
    """A socket listening on a port of 127.0.0.1 that the kernel chose, for gunicorn to serve on
    (``--bind fd://N``, with ``pass_fds``): the port is never free between choosing and serving, so a
    parallel run cannot take it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        listener.set_inheritable(True)
        yield listener


def gunicorn_bind(listener: socket.socket) -> tuple[list[str], dict[str, object]]:
    """The ``--bind`` arguments and Popen's keyword arguments that hand ``listener`` to gunicorn."""
    return ["--bind", f"fd://{listener.fileno()}"], {"pass_fds": (listener.fileno(),)}


def port_of(listener: socket.socket) -> int:
    return int(listener.getsockname()[1])


def free_port() -> int:
    """A port that was free a moment ago: only for servers that cannot be handed a socket (nginx),
    and then through :func:`on_a_free_port`, which tries another when somebody took it meanwhile."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


T = TypeVar("T")


def on_a_free_port(start: Callable[[int], T], attempts: int = 5) -> tuple[int, T]:
    """``start(port)`` on a free port, again on another while it raises EADDRINUSE (the port was
    taken between choosing it and binding it)."""
    for attempt in range(attempts):
        port = free_port()
        try:
            return port, start(port)
        except OSError as error:
            if error.errno != errno.EADDRINUSE or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def own_database(tmp: Path, name: str) -> Iterator[str]:
    """A new database for this run, named ``name`` with the process and a random suffix so that a
    parallel run never shares or drops it: a SQLite file under ``tmp`` on the SQLite leg, a new
    PostgreSQL database (dropped at the end, and only this one) on the PostgreSQL leg."""
    unique = f"{name}_{os.getpid()}_{secrets.token_hex(4)}"
    default = settings.DATABASES["default"]
    if default["ENGINE"] != "django.db.backends.postgresql":
        yield f"sqlite:///{tmp / (unique + '.sqlite3')}"
        return
    import psycopg

    host, port, user = default["HOST"] or "127.0.0.1", default["PORT"] or 5432, default["USER"]
    admin = f"host={host} port={port} user={user} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {unique}")
    try:
        yield f"postgres://{user}@{host}:{port}/{unique}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {unique} WITH (FORCE)")


def server_environment(tmp: Path, database: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "CORPBANK_VAR_DIR": str(tmp),
        "CORPBANK_SECRET_KEY": "test-server-secret-key-0123456789",
        "CORPBANK_SEED_KEYS": os.environ.get("CORPBANK_SEED_KEYS", "t:" + "A" * 43 + "="),
        "CORPBANK_AUDIT_KEYS": os.environ.get("CORPBANK_AUDIT_KEYS", "a:" + "B" * 43 + "="),
        "CORPBANK_CA_PASSPHRASE": "test-server-ca-passphrase",
        "CORPBANK_DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "corpbank.settings",
        **extra,
    }
    env.pop("CORPBANK_EMAIL_BACKEND", None)
    if "CORPBANK_INSECURE_HTTP" not in extra:
        env.pop("CORPBANK_INSECURE_HTTP", None)  # production's defaults: HTTPS only, unless a test says
    return env


def corpbank(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "corpbank"), *args], env=env, check=True, capture_output=True, timeout=300)


def server_shell(env: dict[str, str], code: str) -> str:
    """Run Python in the server's Django (``corpbank shell -c``), on the server's database: to set up
    an organization for one test, or to move a record's clock (never sleep). Returns its output."""
    done = subprocess.run(
        [str(BIN / "corpbank"), "shell", "-c", code],
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return done.stdout


def json_exchange(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: dict | None,
    headers: dict[str, str],
    cookies: dict[str, str],
    csrf_cookie: str,
) -> tuple[int, str]:
    """One request as a browser's script sends it: the cookies it holds (and the CSRF token from
    ``csrf_cookie`` as X-CSRFToken), a JSON body; the cookies the answer sets are kept in ``cookies``.
    Returns the status and the body; the connection is closed."""
    headers = dict(headers)
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if csrf_cookie in cookies:
        headers["X-CSRFToken"] = cookies[csrf_cookie]
    payload = None
    if body is not None:
        payload = json.dumps(body)
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                cookies[name] = morsel.value
        return response.status, text
    finally:
        connection.close()
