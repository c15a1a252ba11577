"""privacyIDEA 3.14, the open-source OTP server, as the peer bench/otp.py measures corpbank against.

It is not a project dependency: it lives in a virtualenv of its own (bench/peers/.venv-privacyidea, made
on first use with the interpreter that runs the benchmark, so the same Python), into which pip installs
privacyidea==3.14, psycopg2-binary (its PostgreSQL driver) and gunicorn at the version corpbank runs on.

For each run, ``serve`` creates privacyIDEA's own database on the same PostgreSQL server with
common.fresh_database (a name no other run uses, dropped at the end), writes a pi.cfg in a temporary
directory, makes the encryption key and the audit signing keys with privacyIDEA's own ``pi-manage
setup`` commands, creates the tables with ``pi-manage setup create_tables``, enrolls HOTP tokens with
known seeds through privacyIDEA's Python API (``init_token``, inside its virtualenv), and serves the
production application with gunicorn on 127.0.0.1 only.

How it is kept fair (bench/otp.py does the rest):
- same machine, same PostgreSQL server, each system on a database of its own created for the run;
- same gunicorn version, worker class (gthread, or BENCH_WORKER_CLASS), --workers and --threads;
- privacyIDEA's defaults: its production configuration, its default SQL audit module, which writes and
  RSA-signs an audit row for every request in the same database (corpbank also writes an audit event
  for every verification), signed responses, no policies; only the log level is lowered to errors so
  that neither side writes a log line per request;
- tokens as privacyIDEA's documentation enrolls them: HOTP, SHA-1, 6 digits, no PIN.

Run it by itself to install the virtualenv and check one verification end to end (--help)."""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import ServerDidNotStart, ServerHandle, fresh_database, parser, production_server

VERSION = "3.14"
HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-privacyidea"
# In the virtualenv, what pip installed, written last: without it the virtualenv is incomplete and
# is installed into again.
MARKER = "bench-installed.txt"
START_SECONDS = 120
# The log level privacyIDEA's logger gets (logging.ERROR): quiet, as corpbank's production server is.
LOG_LEVEL = 40


class PeerUnavailable(RuntimeError):
    """privacyIDEA could not be installed, configured or started: the comparison cannot be made."""


def requirements() -> list[str]:
    # The same gunicorn as corpbank's server, so that the HTTP layer in front of both is the same code.
    return [f"privacyidea=={VERSION}", "psycopg2-binary", f"gunicorn=={metadata.version('gunicorn')}"]


def install(venv: Path = VENV) -> Path:
    """The peer's virtualenv, made and filled on first use (pip, through its configured indexes); the
    python inside it. Raises PeerUnavailable with pip's own words when it cannot be done."""
    wanted = "\n".join(requirements())
    python = venv / "bin" / "python"
    marker = venv / MARKER
    if marker.exists() and marker.read_text() == wanted and python.exists():
        return python
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", *requirements()],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise PeerUnavailable(
                f"could not install privacyIDEA {VERSION} into {venv}: `{' '.join(step)}` exited with "
                f"{done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}"
            )
    marker.write_text(wanted)
    return python


@dataclasses.dataclass(frozen=True)
class Peer:
    """A running privacyIDEA: its base URL, which reads its CPU time too, and its tokens by serial."""

    server: ServerHandle
    serials: list[str]


def settings(database_url: str, directory: Path) -> str:
    """pi.cfg: where the data is, the secrets it needs, and nothing else (the rest stays its default)."""
    parts = urllib.parse.urlsplit(database_url)
    uri = urllib.parse.urlunsplit(("postgresql+psycopg2", parts.netloc, parts.path, "", ""))
    values = {
        "SQLALCHEMY_DATABASE_URI": uri,
        "SECRET_KEY": "bench-peer-secret-key-0123456789-abcdefghijkl",
        "PI_PEPPER": "bench-peer-pepper-0123456789",
        "PI_ENCFILE": str(directory / "enckey"),
        "PI_AUDIT_KEY_PRIVATE": str(directory / "private.pem"),
        "PI_AUDIT_KEY_PUBLIC": str(directory / "public.pem"),
        "PI_LOGFILE": str(directory / "privacyidea.log"),
        "PI_LOGLEVEL": LOG_LEVEL,
    }
    return "".join(f"{key} = {value!r}\n" for key, value in values.items())


ENROLL = """
import json, sys
from privacyidea.app import create_app
from privacyidea.lib.token import init_token
app = create_app(config_name="production", config_file=sys.argv[1], silent=True)
with app.app_context():
    for serial, seed in json.load(sys.stdin):
        init_token({"type": "hotp", "serial": serial, "otpkey": seed, "genkey": 0, "otplen": 6,
                    "hashlib": "sha1"})
"""


def _run(python: Path, env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    done = subprocess.run(
        [str(python), *args], env=env, input=stdin, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise PeerUnavailable(
            f"privacyIDEA setup step `{' '.join(args[:4])}` failed ({done.returncode}):\n"
            f"{(done.stdout + done.stderr)[-3000:]}"
        )


@contextlib.contextmanager
def serve(postgres: str, seeds: list[bytes], *, workers: int, threads: int) -> Iterator[Peer]:
    """privacyIDEA on its own new database, one HOTP token per seed (serials PIBENCH0000…), served by
    gunicorn on 127.0.0.1; everything is removed at the end, the database with it."""
    python = install()
    with (
        tempfile.TemporaryDirectory(prefix="bench-privacyidea-") as temporary,
        fresh_database(postgres) as database_url,
    ):
        directory = Path(temporary)
        config = directory / "pi.cfg"
        config.write_text(settings(database_url, directory))
        env = {**os.environ, "PRIVACYIDEA_CONFIGFILE": str(config)}
        manage = str(python.parent / "pi-manage")
        for command in ("create_enckey", "create_audit_keys", "create_tables"):
            _run(python, env, manage, "setup", command)
        serials = [f"PIBENCH{index:04d}" for index in range(len(seeds))]
        _run(
            python,
            env,
            "-c",
            ENROLL,
            str(config),
            stdin=json.dumps([[serial, seed.hex()] for serial, seed in zip(serials, seeds, strict=True)]),
        )
        application = (
            f"privacyidea.app:create_app(config_name='production', config_file='{config}', silent=True)"
        )
        with contextlib.ExitStack() as stack:
            try:
                handle = stack.enter_context(
                    production_server(
                        env,
                        workers=workers,
                        threads=threads,
                        app=application,
                        gunicorn=python.parent / "gunicorn",
                        ready="/healthz/",
                        start_seconds=START_SECONDS,
                    )
                )
            except ServerDidNotStart as error:
                raise PeerUnavailable(str(error)) from None
            yield Peer(handle, serials)


def validate_check(connection: http.client.HTTPConnection, serial: str, code: str) -> bool:
    """One ``POST /validate/check`` (serial and code, no PIN) on a keep-alive connection: True only for a
    200 whose JSON says result.value is true, that is an accepted code."""
    body = json.dumps({"serial": serial, "pass": code})
    headers = {"Content-Type": "application/json"}
    try:
        connection.request("POST", "/validate/check", body=body, headers=headers)
        response = connection.getresponse()
    except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
        # The server closed an idle keep-alive connection: open a new one, once (as login.Client does).
        connection.close()
        connection.request("POST", "/validate/check", body=body, headers=headers)
        response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        return False
    try:
        return json.loads(payload)["result"]["value"] is True
    except (ValueError, KeyError, TypeError):
        return False


def main() -> int:
    options = parser(__doc__ or "")
    arguments = options.parse_args()
    from corpbank.tokens.totp import hotp

    seed = b"bench-peer-check-seed-0000"
    with serve(arguments.postgres, [seed], workers=arguments.workers, threads=arguments.threads) as peer:
        host, port = peer.server.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        first = validate_check(connection, peer.serials[0], hotp(seed, 0))
        again = validate_check(connection, peer.serials[0], hotp(seed, 0))
        print(f"privacyIDEA {VERSION} at {peer.server}: a valid code accepted {first}, replayed {again}")
        return 0 if first and not again else 1


if __name__ == "__main__":
    sys.exit(main())
