"""The master's administration of general users (R-A3, R-A4, R-B8, R-C3)."""

from __future__ import annotations

import pytest

from corpbank.models import CustomerUser, Principal, UsageLimit
from corpbank.services import authentication, users
from corpbank.services.errors import (
    Conflict,
    FactorsRejected,
    Forbidden,
    InvalidCredentials,
    LockedOut,
    NotFound,
    Suspended,
    ValidationFailed,
)
from corpbank.services.users import LimitInput
from tests.conftest import MASTER_CONFIRMATION, activate_master, log_in, register_contract

FACTORS = {"confirmation_password": MASTER_CONFIRMATION}


def add(master, login_id="staff001", **overrides):
    values = {
        "master": master,
        "factors": FACTORS,
        "login_id": login_id,
        "name": "経理 花子",
        "login_password": "Init1login",
        "confirmation_password": "Init1conf",
        "permissions": ["inquiry"],
        "limits": [LimitInput("single_transfer", 100_000, 500_000)],
    }
    values.update(overrides)
    return users.add_general_user(**values)


def test_r_b8_added_user_must_replace_both_initial_passwords_at_first_login(master):
    user = add(master)
    outcome = log_in(login_id="staff001", password="Init1login")
    assert outcome.user == user
    assert outcome.must_change == ("login_password", "confirmation_password")
    with pytest.raises(ValidationFailed):  # only one of the two replaced
        authentication.change_passwords(
            user=user,
            current={"login_password": "Init1login"},
            new_login_password="Mine1login",
            new_login_password_again="Mine1login",
            new_confirmation_password=None,
            new_confirmation_password_again=None,
        )
    authentication.change_passwords(
        user=user,
        current={"login_password": "Init1login", "confirmation_password": "Init1conf"},
        new_login_password="Mine1login",
        new_login_password_again="Mine1login",
        new_confirmation_password="Mine1conf",
        new_confirmation_password_again="Mine1conf",
    )
    assert log_in(login_id="staff001", password="Mine1login").must_change == ()


def test_adding_a_user_asks_for_the_confirmation_password(master):
    with pytest.raises(FactorsRejected):
        add(master, factors={"confirmation_password": "Wrong1conf"})
    assert not CustomerUser.objects.filter(login_id="staff001").exists()


def test_r_c6_wrong_confirmation_passwords_lock_the_master_too(master):
    for _ in range(5):
        with pytest.raises(FactorsRejected):
            add(master, factors={"confirmation_password": "Wrong1conf"})
    with pytest.raises(LockedOut):
        add(master, factors={"confirmation_password": "Wrong1conf"})


def test_r_a3_at_most_n_general_users(master, settings):
    settings.CORPBANK_POLICY_TUNING = {"MAX_GENERAL_USERS": 2}
    add(master, "staff001")
    add(master, "staff002")
    with pytest.raises(Conflict):
        add(master, "staff003")


def test_r_a4_a_users_limit_never_exceeds_the_contracts(master):
    contract_limit = UsageLimit.objects.get(
        contract=master.contract, user__isnull=True, kind="single_transfer"
    )
    with pytest.raises(ValidationFailed) as error:
        add(
            master,
            limits=[
                LimitInput("single_transfer", contract_limit.per_transaction + 1, contract_limit.per_day)
            ],
        )
    assert "limit_single_transfer" in error.value.fields


def test_r_a4_the_database_refuses_a_per_transaction_limit_above_the_daily(master):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        UsageLimit.objects.filter(contract=master.contract, user__isnull=True).update(per_transaction=10**12)


def test_r_a4_master_changes_permissions_and_limits(master):
    user = add(master)
    users.change_general_user(
        master=master,
        factors=FACTORS,
        user_id=user.pk,
        name="経理 花子",
        permissions=["inquiry", "approval"],
        limits=[LimitInput("bulk_transfer", 1_000, 2_000)],
    )
    assert set(user.permissions.values_list("permission", flat=True)) == {"inquiry", "approval"}
    assert list(user.limits.values_list("kind", "per_transaction", "per_day")) == [
        ("bulk_transfer", 1_000, 2_000)
    ]


def test_r_c3_master_lifts_a_general_users_suspension(master, settings):
    settings.CORPBANK_POLICY = "suspend-at-6"
    add(master)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            log_in(login_id="staff001", password="Wrong1pass")
    with pytest.raises(Suspended) as suspended:
        log_in(login_id="staff001", password="Wrong1pass")
    assert "マスターユーザに" in suspended.value.message
    user = CustomerUser.objects.get(login_id="staff001")
    users.lift_general_user_lock(master=master, factors=FACTORS, user_id=user.pk)
    assert not Principal.objects.get(pk=user.principal_id).is_suspended
    assert log_in(login_id="staff001", password="Init1login").user == user


def test_r_b8_r_c3_reset_sets_new_one_time_passwords_and_lifts_the_lock(master):
    user = add(master)
    for _ in range(6):
        with pytest.raises((InvalidCredentials, LockedOut)):
            log_in(login_id="staff001", password="Wrong1pass")
    users.reset_general_user_credentials(
        master=master,
        factors=FACTORS,
        user_id=user.pk,
        login_password="Reset1pw",
        confirmation_password="Reset1cf",
    )
    outcome = log_in(login_id="staff001", password="Reset1pw")
    assert outcome.must_change == ("login_password", "confirmation_password")


def test_deleted_user_cannot_log_in(master):
    user = add(master)
    users.delete_general_user(master=master, factors=FACTORS, user_id=user.pk)
    with pytest.raises(InvalidCredentials):
        log_in(login_id="staff001", password="Init1login")


def test_a_general_user_cannot_administer(master):
    user = add(master)
    with pytest.raises(Forbidden):
        add(user, "staff002", factors={"confirmation_password": "Init1conf"})


def test_a_master_cannot_reach_another_organizations_users(master, operators):
    from corpbank.services.backoffice import AccountInput

    other_master = activate_master(
        register_contract(operators, accounts=[AccountInput("101", "1", "7777777")]), login_id="other001"
    )
    victim = add(master)
    for call in (
        lambda: users.change_general_user(
            master=other_master, factors=FACTORS, user_id=victim.pk, name="x", permissions=[], limits=[]
        ),
        lambda: users.delete_general_user(master=other_master, factors=FACTORS, user_id=victim.pk),
        lambda: users.reset_general_user_credentials(
            master=other_master,
            factors=FACTORS,
            user_id=victim.pk,
            login_password="Reset1pw",
            confirmation_password="Reset1cf",
        ),
        lambda: users.lift_general_user_lock(master=other_master, factors=FACTORS, user_id=victim.pk),
    ):
        with pytest.raises(NotFound):
            call()
