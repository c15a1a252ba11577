"""Token events mailed to the organization's contact address through a real SMTP server (R-I4, R-E11)."""

from __future__ import annotations

import pytest
from django.db import transaction

from corpbank.core import audit
from corpbank.core.errors import DomainError
from corpbank.organizations.models import Organization
from corpbank.tokens import otp
from corpbank.tokens import selectors as token_selectors
from corpbank.tokens import services as tokens
from tests.conftest import MASTER_CONFIRMATION, MASTER_LOGIN_ID, code_now, log_in, wait_for_mail

CONTACT = "keiri@union.example"
BANK = audit.Actor.system("bank")


@pytest.fixture
def contact(otp_master):
    Organization.objects.filter(contracts=otp_master.contract).update(notification_email=CONTACT)
    return otp_master


def subjects(received) -> list[str]:
    return [str(message["Subject"]) for message in received]


def test_r_i4_registration_revocation_and_loss_are_mailed(
    contact, smtp_server, settings, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tokens.register_for_user(user=contact, serial="HW00000001", code=code_now())
    clock(60)
    with django_capture_on_commit_callbacks(execute=True):
        tokens.revoke_for_user(
            master=contact,
            factors={"confirmation_password": MASTER_CONFIRMATION, "otp": code_now()},
            user_id=contact.pk,
        )
    with django_capture_on_commit_callbacks(execute=True):
        tokens.report_lost(serial="HW00000001", actor=BANK)
    wait_for_mail(smtp_server, 3)
    assert [s.split("（")[-1] for s in subjects(smtp_server)] == [
        "ワンタイムパスワードの利用登録）",
        "パスワード生成機の失効）",
        "パスワード生成機の紛失による利用停止）",
    ]
    first = smtp_server[0]
    assert first["To"] == CONTACT and first["From"] == settings.DEFAULT_FROM_EMAIL  # R-E11
    body = first.get_content()
    assert "HW00000001" in body and MASTER_LOGIN_ID in body and settings.CORPBANK_HELPDESK_PHONE in body


def test_r_i4_a_token_stopped_by_wrong_codes_is_mailed_once(
    contact, smtp_server, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tokens.register_for_user(user=contact, serial="HW00000001", code=code_now())
    token = token_selectors.registration_in_force(contact).token
    wrong = "000000" if code_now() != "000000" else "111111"
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(11):
            with transaction.atomic():
                otp.check_code(
                    token, wrong, actor=BANK, subject_user_id=contact.pk, contract_id=contact.contract_id
                )
    wait_for_mail(smtp_server, 2)
    assert ["利用停止（連続した誤入力）" in subject for subject in subjects(smtp_server)] == [False, True]


def test_r_i4_other_lockouts_and_organizations_without_a_contact_are_not_mailed(
    otp_master, contact, smtp_server, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(6):
            with pytest.raises(DomainError):
                log_in(login_id=MASTER_LOGIN_ID, password="Wrong1pass")
    Organization.objects.filter(contracts=otp_master.contract).update(notification_email="")
    with django_capture_on_commit_callbacks(execute=True):
        tokens.register_for_user(user=otp_master, serial="HW00000001", code=code_now())
    # Django's SMTP backend returns once the server has accepted the message: nothing is on its way.
    assert smtp_server == []
