"""Real servers for tests that talk to the production server from outside (the browser tests, the TLS
tests): a free port, a database of their own on the leg's engine, the server's environment, and Python
run inside the server's Django (``corpbank shell``) to set up or inspect its database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url(tmp: Path, name: str) -> str:
    """A fresh database named ``name``: a SQLite file under ``tmp`` on the SQLite leg, a new PostgreSQL
    database on the PostgreSQL leg."""
    default = settings.DATABASES["default"]
    if default["ENGINE"] != "django.db.backends.postgresql":
        return f"sqlite:///{tmp / (name + '.sqlite3')}"
    import psycopg

    host, port, user = default["HOST"] or "127.0.0.1", default["PORT"] or 5432, default["USER"]
    admin = f"host={host} port={port} user={user} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")
    return f"postgres://{user}@{host}:{port}/{name}"


def server_environment(tmp: Path, database: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "CORPBANK_VAR_DIR": str(tmp),
        "CORPBANK_SECRET_KEY": "test-server-secret-key-0123456789",
        "CORPBANK_SEED_KEYS": os.environ.get("CORPBANK_SEED_KEYS", "t:" + "A" * 43 + "="),
        "CORPBANK_CA_PASSPHRASE": "test-server-ca-passphrase",
        "CORPBANK_DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "corpbank.settings",
        **extra,
    }
    env.pop("CORPBANK_EMAIL_BACKEND", None)
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
