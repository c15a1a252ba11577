"""The configured session store keeps sessions on the server (R-A5): a session the server no longer
has, deleted or expired, is never resumed."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.models import Session
from django.utils import timezone

from corpbank.organizations import selectors as organization_selectors

SessionStore = import_module(settings.SESSION_ENGINE).SessionStore


@pytest.mark.django_db(transaction=True)  # autocommit, as a request
def test_r_a5_a_saved_session_loads_back_until_it_expires():
    store = SessionStore()
    store["customer"] = 7
    store.save()
    key = store.session_key
    assert key is not None and len(key) == 32
    assert SessionStore(session_key=key)["customer"] == 7

    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(session_key=key)
    assert expired.get("customer") is None
    assert expired.session_key is None  # a new key is drawn when it is saved
    expired["customer"] = 8
    expired.save()
    assert expired.session_key != key


@pytest.mark.django_db(transaction=True)  # autocommit, as a request
def test_r_a5_a_session_deleted_meanwhile_is_not_written_back():
    store = SessionStore()
    store["customer"] = 7
    store.save()
    Session.objects.filter(session_key=store.session_key).delete()  # logout in another tab
    store["customer"] = 8
    with pytest.raises(UpdateError):
        store.save()
    assert not Session.objects.exists()


@pytest.mark.django_db(transaction=True)  # autocommit, as a request
def test_r_a5_a_new_session_never_overwrites_another_with_the_same_key():
    first = SessionStore()
    first["customer"] = 7
    first.save()
    second = SessionStore(session_key=first.session_key)
    second["customer"] = 8
    with pytest.raises(CreateError):
        second.save(must_create=True)
    assert SessionStore(session_key=first.session_key)["customer"] == 7


def test_r_a5_active_customer_is_what_select_related_gives(master, general):
    from corpbank.organizations.models import CustomerUser

    for user in (master, general):
        loaded = organization_selectors.active_customer(user.pk)
        expected = CustomerUser.objects.select_related("principal", "contract__organization").get(pk=user.pk)
        assert loaded is not None
        assert (loaded.pk, loaded.login_id, loaded.role, loaded.principal.session_epoch) == (
            expected.pk,
            expected.login_id,
            expected.role,
            expected.principal.session_epoch,
        )
        assert loaded.contract.organization.name == expected.contract.organization.name
        assert loaded.contract.created_at == expected.contract.created_at  # converters applied


def test_r_a5_active_customer_is_none_for_a_user_who_is_not_active(general):
    from corpbank.organizations.models import CustomerUser

    CustomerUser.objects.filter(pk=general.pk).update(status=CustomerUser.Status.DELETED)
    assert organization_selectors.active_customer(general.pk) is None
