"""The reference phone app ``corpbank softtoken`` (R-E9) on its own: its codes and its needs. Its set-up
against a running bank (gunicorn) and its code starting the service are in tests/browser."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

RFC6238_SEED_HEX = "3132333435363738393031323334353637383930"  # "12345678901234567890"


def app(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The app as its user runs it: a separate process, without Django's settings in its environment."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-m", "corpbank.cli", "softtoken", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    ("at", "expected"), [(59, "94287082"), (1111111109, "07081804"), (2000000000, "69279037")]
)
def test_codes_follow_rfc_6238(at, expected):
    done = app("code", "--seed-hex", RFC6238_SEED_HEX, "--period", "30", "--digits", "8", "--at", str(at))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


def test_the_app_needs_no_django():
    script = (
        "import sys; from corpbank.tokens.softtoken_app import main; "
        f"rc = main(['code', '--seed-hex', '{RFC6238_SEED_HEX}', '--at', '0']); "
        "assert 'django' not in sys.modules, 'django imported'; sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def test_without_a_set_up_it_says_so(tmp_path):
    done = app("--store", str(tmp_path / "none.json"), "code")
    assert done.returncode == 1 and "enrol" in done.stderr
