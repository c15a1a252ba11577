"""The master's administration of general users (R-A3, R-A4, R-B8, R-C1, R-C3, R-C6)."""

from __future__ import annotations

import pytest

from corpbank.authentication import services as authentication
from corpbank.core.errors import (
    Conflict,
    FactorsRejected,
    Forbidden,
    InvalidCredentials,
    LockedOut,
    NotFound,
    Suspended,
    ValidationFailed,
)
from corpbank.identity.models import Principal
from corpbank.organizations import services as users
from corpbank.organizations.models import CustomerUser, UsageLimit
from corpbank.organizations.services import LimitInput
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


def test_r_c1_r_c6_wrong_confirmation_passwords_lock_the_master_too_and_say_until_when(master):
    """R-C1: the confirmation password counts like the login password. R-C6: the refusals never name
    the factor, and the lockout says until when."""
    from django.utils import timezone

    refusals = []
    for _ in range(5):
        with pytest.raises(FactorsRejected) as refused:
            add(master, factors={"confirmation_password": "Wrong1conf"})
        refusals.append(refused.value.message)
    assert len(set(refusals)) == 1 and "確認用パスワード" not in refusals[0]
    with pytest.raises(LockedOut) as locked:
        add(master, factors={"confirmation_password": "Wrong1conf"})
    until = Principal.objects.get(pk=master.principal_id).locked_until
    assert until is not None and locked.value.until == until
    assert timezone.localtime(until).strftime("%Y/%m/%d %H:%M") in locked.value.message


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


def _contract_limit(contract, kind="single_transfer"):
    return UsageLimit.objects.get(contract=contract, user__isnull=True, kind=kind)


def test_r_a4_the_database_refuses_a_users_limit_above_the_contracts(master):
    """The triggers of migration 0012 stand behind services/users: a write that does not go through
    the service's check is refused too."""
    from django.db import IntegrityError, transaction

    user = add(master)
    ceiling = _contract_limit(master.contract)
    mine = UsageLimit.objects.filter(user=user, kind="single_transfer")
    for values in (
        {"per_day": ceiling.per_day + 1},
        {"per_transaction": ceiling.per_transaction + 1, "per_day": ceiling.per_day},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            mine.update(**values)
    # Up to the contract's limit is allowed.
    mine.update(per_transaction=ceiling.per_transaction, per_day=ceiling.per_day)
    assert mine.get().per_day == ceiling.per_day


def test_r_a4_the_database_refuses_lowering_the_contracts_limit_below_a_users(master):
    from django.db import IntegrityError, transaction

    add(master, limits=[LimitInput("single_transfer", 100_000, 500_000)])
    contract_limit = UsageLimit.objects.filter(pk=_contract_limit(master.contract).pk)
    for values in ({"per_transaction": 99_999}, {"per_transaction": 100_000, "per_day": 499_999}):
        with pytest.raises(IntegrityError), transaction.atomic():
            contract_limit.update(**values)
    # Moved to another kind, it would leave the user's limit without a ceiling.
    _contract_limit(master.contract, "bulk_transfer").delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        contract_limit.update(kind="bulk_transfer")
    contract_limit.update(per_transaction=100_000, per_day=500_000)
    assert contract_limit.get().per_day == 500_000


def test_r_a4_the_database_refuses_a_limit_without_the_contracts_or_across_contracts(master, operators):
    from django.db import IntegrityError, transaction

    from corpbank.backoffice.services import AccountInput

    user = add(master, limits=[])
    other = register_contract(operators, accounts=[AccountInput("101", "1", "7777777")]).contract
    with pytest.raises(IntegrityError), transaction.atomic():  # the user is not the other contract's
        UsageLimit.objects.create(
            contract=other, user=user, kind="single_transfer", per_transaction=1, per_day=1
        )
    _contract_limit(master.contract, "tax_payment").delete()
    with pytest.raises(IntegrityError), transaction.atomic():  # no contract limit of this kind
        UsageLimit.objects.create(
            contract=master.contract, user=user, kind="tax_payment", per_transaction=1, per_day=1
        )
    assert not UsageLimit.objects.filter(user=user).exists()


def _second_write_while_the_first_is_open(first, second) -> str:  # type: ignore[no-untyped-def]
    """Run ``first`` in an open transaction, start ``second`` on its own connection, wait until it
    waits for a row lock, commit ``first``; then whether ``second`` was written or refused."""
    import threading

    from django.db import IntegrityError, connections, transaction

    from tests.conftest import wait_until_blocked_on_a_lock

    outcome: list[str] = []

    def write() -> None:
        try:
            second()
            outcome.append("written")
        except IntegrityError:
            outcome.append("refused")
        finally:
            connections.close_all()

    with transaction.atomic():
        first()
        writer = threading.Thread(target=write)
        writer.start()
        wait_until_blocked_on_a_lock()
    writer.join(timeout=30)
    return outcome[0] if outcome else "still waiting"


def _users_limit_of(master, user):  # type: ignore[no-untyped-def]
    """A user's single-transfer limit within the contract's default, above it once lowered (below)."""
    return lambda: UsageLimit.objects.create(
        contract=master.contract, user=user, kind="single_transfer", per_transaction=200_000, per_day=900_000
    )


def _lowering_of(contract):  # type: ignore[no-untyped-def]
    return lambda: UsageLimit.objects.filter(pk=_contract_limit(contract).pk).update(
        per_transaction=100_000, per_day=500_000
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_a4_a_users_limit_written_while_the_contracts_is_lowered_sees_the_lowering(branch, operators):
    """A user's limit that waits for the contract's limit being lowered is checked against the lowered
    one: the two writes cannot both pass, each checked against what the other had not yet committed."""
    master = activate_master(register_contract(operators))
    user = add(master, limits=[])
    outcome = _second_write_while_the_first_is_open(
        _lowering_of(master.contract), _users_limit_of(master, user)
    )
    assert outcome == "refused"
    assert not UsageLimit.objects.filter(user=user).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_a4_the_contracts_limit_lowered_while_a_users_is_written_sees_the_users(branch, operators):
    """The other order: the contract's limit, lowered while a user's limit is being written, waits for
    it and is checked against it."""
    master = activate_master(register_contract(operators))
    user = add(master, limits=[])
    outcome = _second_write_while_the_first_is_open(
        _users_limit_of(master, user), _lowering_of(master.contract)
    )
    assert outcome == "refused"
    assert _contract_limit(master.contract).per_day == 30_000_000


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
    from corpbank.backoffice.services import AccountInput

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
