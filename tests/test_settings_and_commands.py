"""Settings from the environment, and the corpbank commands (R-I3 audit verify, operators, demo)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from corpbank.backoffice.models import Operator
from corpbank.core.models import AuditEvent
from corpbank.organizations.models import Branch, CustomerUser

SEED_KEYS = "t:" + "A" * 43 + "="
AUDIT_KEYS = "a:" + "B" * 43 + "="


def settings_value(env: dict[str, str], expression: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CORPBANK_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-c", f"import corpbank.settings as s; print({expression})"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = settings_value({"CORPBANK_VAR_DIR": str(tmp_path)}, "s.SECRET_KEY")
    assert result.returncode != 0
    assert "CORPBANK_SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_seed_keys(tmp_path):
    result = settings_value({"CORPBANK_VAR_DIR": str(tmp_path), "CORPBANK_SECRET_KEY": "k" * 40}, "1")
    assert result.returncode != 0
    assert "CORPBANK_SEED_KEYS must be set" in result.stderr


def test_production_refuses_to_start_without_audit_keys(tmp_path):
    env = {
        "CORPBANK_VAR_DIR": str(tmp_path),
        "CORPBANK_SECRET_KEY": "k" * 40,
        "CORPBANK_SEED_KEYS": SEED_KEYS,
    }
    result = settings_value(env, "1")
    assert result.returncode != 0
    assert "CORPBANK_AUDIT_KEYS must be set" in result.stderr


def test_cookies_are_secure_unless_the_deployment_says_plain_http(tmp_path):
    env = {
        "CORPBANK_VAR_DIR": str(tmp_path),
        "CORPBANK_SECRET_KEY": "k" * 40,
        "CORPBANK_SEED_KEYS": SEED_KEYS,
        "CORPBANK_AUDIT_KEYS": AUDIT_KEYS,
    }
    assert settings_value(env, "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE").stdout.strip() == "True True"
    env["CORPBANK_INSECURE_HTTP"] = "1"
    assert (
        settings_value(env, "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE").stdout.strip() == "False False"
    )
    env["CORPBANK_HTTPS"] = "1"
    assert settings_value(env, "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE").stdout.strip() == "True True"


@pytest.mark.parametrize("name", ["CORPBANK_BACKOFFICE_NETWORKS", "CORPBANK_TRUSTED_PROXIES"])
def test_a_network_setting_with_a_typo_stops_the_start_not_every_request(tmp_path, name):
    env = {"CORPBANK_VAR_DIR": str(tmp_path), "CORPBANK_DEBUG": "1", name: "10.20.0.0/16, 10.300.0.0/16"}
    result = settings_value(env, f"s.{name}")
    assert result.returncode != 0
    assert f"{name}: '10.300.0.0/16' is not an address or a network" in result.stderr


def test_r_a5_inactivity_and_policy_come_from_the_environment(tmp_path):
    env = {
        "CORPBANK_VAR_DIR": str(tmp_path),
        "CORPBANK_SECRET_KEY": "k" * 40,
        "CORPBANK_SEED_KEYS": SEED_KEYS,
        "CORPBANK_AUDIT_KEYS": AUDIT_KEYS,
        "CORPBANK_SESSION_INACTIVITY_MINUTES": "5",
        "CORPBANK_POLICY": "suspend-at-6",
    }
    result = settings_value(env, "s.SESSION_COOKIE_AGE, s.CORPBANK_POLICY, s.CORPBANK_POLICY_TUNING")
    # The store keeps the session half a day longer, so that the middleware ends it and says why.
    assert result.stdout.strip() == "43500 suspend-at-6 {'SESSION_INACTIVITY_MINUTES': 5}"


def test_r_i3_audit_verify_command(master, settings, tmp_path):
    settings.CORPBANK_AUDIT_CHECKPOINTS = tmp_path / "checkpoints.jsonl"
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    events = AuditEvent.objects.count()
    assert f"audit chain intact: 0 events sealed, 0 checkpoints reached, {events} awaiting" in out.getvalue()
    call_command("audit", "seal", stdout=out)
    call_command("audit", "checkpoint", stdout=out)
    call_command("audit", "verify", stdout=out)
    assert f"audit chain intact: {events} events sealed, 1 checkpoints reached, 0 awaiting" in out.getvalue()
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER corpbank_auditevent_no_update")
        else:
            cursor.execute("ALTER TABLE corpbank_auditevent DISABLE TRIGGER corpbank_auditevent_no_update")
        cursor.execute(
            "UPDATE corpbank_auditevent SET details = '{}' "
            "WHERE id = (SELECT MIN(id) FROM corpbank_auditevent)"
        )
    with pytest.raises(CommandError, match="audit chain broken at event"):
        call_command("audit", "verify", stdout=io.StringIO())


def test_createoperator_reads_the_password_from_stdin(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("Operat0r!x\n"))
    call_command("createoperator", "clerk9", name="窓口 九郎", password_stdin=True, stdout=io.StringIO())
    assert Operator.objects.get(login_name="clerk9").display_name == "窓口 九郎"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(CommandError):
        call_command("createoperator", "clerk8", name="x", password_stdin=True, stdout=io.StringIO())


def test_loaddemo_is_idempotent_and_prints_the_way_in(db):
    first, second = io.StringIO(), io.StringIO()
    call_command("loaddemo", stdout=first)
    call_command("loaddemo", stdout=second)
    assert Branch.objects.count() == 2
    assert CustomerUser.objects.filter(login_id__in=["master01", "staff01"]).count() == 2
    assert "master01" in second.getvalue() and "clerk1" in second.getvalue()
    phone = CustomerUser.objects.get(login_id="phone01")
    assert phone.contract.software_tokens and phone.contract.otp_required  # R-E9's demo organization
    assert "corpbank softtoken enrol" in second.getvalue()
    from corpbank.certificates.models import CertificateIssuance

    holder = CustomerUser.objects.get(login_id="cert01")  # R-F1's demo organization
    assert holder.contract.login_method == "certificate"
    assert CertificateIssuance.objects.filter(user=holder, used_at__isnull=True).exists()


def test_loaddemo_gives_the_accounts_three_months_of_history_on_an_intact_ledger(db):
    """Issue 14: the demo's accounts have balances and history (R-G1), on a ledger that verifies."""
    from corpbank.calendar import days
    from corpbank.ledger import selectors, verify
    from corpbank.ledger.models import LedgerAccount, Leg

    call_command("loaddemo", stdout=io.StringIO())
    union = LedgerAccount.objects.get(kind="customer", branch__code="101", type="1", number="1234567")
    assert union.holder_kana == "ｺｰﾌﾟｾｲｻｸｼﾖﾛｳﾄﾞｳｸﾐｱｲ"
    assert selectors.balance(union.pk) > 0
    dates = Leg.objects.filter(account=union).values_list("posting__value_date", flat=True)
    assert (days.today() - min(dates)).days >= 89 and max(dates) < days.today()
    assert all(days.is_business_day(day) for day in set(dates))
    report = verify.verify()
    assert report.intact and report.total == 0 and report.postings > 40
