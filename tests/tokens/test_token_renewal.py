"""R-E4: replacements before expiry, without any application, and the organization's notice by mail
through a real SMTP server (R-I4, R-E11)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from corpbank.core import audit
from corpbank.organizations.models import Organization
from corpbank.tokens import services as tokens
from corpbank.tokens.models import Token
from tests.conftest import TOKEN_SEED, wait_for_mail

BANK = audit.Actor.system("renewal batch")


@pytest.fixture
def expiring(otp_master):
    Organization.objects.filter(contracts=otp_master.contract).update(
        notification_email="keiri@union.example"
    )
    Token.objects.filter(serial="HW00000001").update(expires_on=date(2026, 12, 15))
    tokens.add_to_stock(serial="HW00000100", seed=TOKEN_SEED, actor=BANK, expires_on=date(2031, 12, 31))
    return otp_master


def test_r_e4_a_replacement_is_shipped_once_and_the_organization_is_mailed(
    expiring, smtp_server, settings, django_capture_on_commit_callbacks
):
    # The mail leaves when the act commits: run the commit callbacks the test transaction holds back.
    with django_capture_on_commit_callbacks(execute=True):
        report = tokens.renew_expiring(within_days=30, actor=BANK, today=date(2026, 11, 24))
    assert report.renewed == [("HW00000001", "HW00000100")]
    replacement = Token.objects.get(serial="HW00000100")
    assert replacement.state == Token.State.SHIPPED and replacement.contract_id == expiring.contract_id
    assert tokens.renew_expiring(within_days=30, actor=BANK, today=date(2026, 11, 24)).renewed == []
    wait_for_mail(smtp_server, 1)
    [message] = smtp_server
    assert message["To"] == "keiri@union.example"
    assert message["From"] == settings.DEFAULT_FROM_EMAIL == message["X-Envelope-From"]
    body = message.get_content()
    assert "HW00000001" in body and "HW00000100" in body and "2026/12/15" in body
    assert settings.DEFAULT_FROM_EMAIL in body  # the screens and mails name the one sender (R-E11)


def test_r_e4_tokens_far_from_expiry_are_left_alone(
    expiring, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert tokens.renew_expiring(within_days=5, actor=BANK, today=date(2026, 11, 24)).renewed == []
    assert smtp_server == []


def test_r_e4_the_command_reports_a_missing_stock(expiring):
    Token.objects.filter(serial="HW00000100").delete()
    Token.objects.filter(serial="HW00000002").update(expires_on=date(2099, 1, 1))
    with pytest.raises(CommandError, match="HW00000001"):
        call_command("tokens", "renew-expiring", "--within-days", "3650", stdout=io.StringIO())
