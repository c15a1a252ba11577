"""The session store's plain statements do what Django's database store does (R-A5, issue 13): the same
row, read back by Django's own store, and the same errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.backends import db as django_store
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.models import Session
from django.utils import timezone

from corpbank.web.session_store import SessionStore


def test_r_a5_a_new_session_is_written_read_and_updated_as_djangos_store_does(db):
    store = SessionStore()
    store["corpbank.customer_user_id"] = 7
    store["日本語"] = "全角　テキスト"
    store.save()
    key = store.session_key
    assert key and store.exists(key) and not store.exists(key + "x")
    # Django's own store reads what ours wrote, and ours reads what Django's wrote.
    written = {"corpbank.customer_user_id": 7, "日本語": "全角　テキスト"}
    assert django_store.SessionStore(key).load() == written
    theirs = django_store.SessionStore(key)
    theirs["more"] = [1, 2]
    theirs.save()
    ours = SessionStore(key)
    assert ours.load()["more"] == [1, 2]
    ours["more"] = [3]
    ours.save()
    assert django_store.SessionStore(key).load()["more"] == [3]
    assert Session.objects.get(session_key=key).expire_date > timezone.now()


def test_r_a5_an_expired_or_unknown_session_reads_as_empty_and_gets_a_new_key(db):
    store = SessionStore()
    store["x"] = 1
    store.save()
    key = store.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(key)
    assert expired.load() == {} and expired.session_key is None
    unknown = SessionStore("a" * 32)
    assert unknown.load() == {} and unknown.session_key is None


def test_r_a5_the_errors_are_djangos(db):
    store = SessionStore()
    store["x"] = 1
    store.save()
    taken = SessionStore(store.session_key)
    taken._session_cache = {"y": 2}
    with pytest.raises(CreateError):
        taken.save(must_create=True)
    Session.objects.filter(session_key=store.session_key).delete()
    store["x"] = 2
    with pytest.raises(UpdateError):
        store.save()


@pytest.mark.django_db(transaction=True)
def test_r_a5_an_update_outside_a_transaction_is_one_statement(django_assert_num_queries):
    """The per-request write (activity, a flag) is the UPDATE alone: no BEGIN and COMMIT of its own."""
    store = SessionStore()
    store["x"] = 1
    store.save()
    store["x"] = 2
    with django_assert_num_queries(1):
        store.save()
    assert django_store.SessionStore(store.session_key).load() == {"x": 2}


def test_r_a5_a_taken_key_leaves_the_surrounding_transaction_usable(db):
    """Inside a transaction the INSERT runs in a savepoint: the CreateError that makes Django draw
    another key does not break the transaction around it (the test's own)."""
    store = SessionStore()
    store["x"] = 1
    store.save()
    taken = SessionStore(store.session_key)
    taken._session_cache = {"y": 2}
    with pytest.raises(CreateError):
        taken.save(must_create=True)
    assert Session.objects.filter(session_key=store.session_key).exists()


@pytest.mark.django_db(transaction=True)
def test_r_a5_rotation_outside_a_transaction_keeps_the_data_under_a_new_key():
    """A login rotates the session (cycle_key) outside any transaction: one INSERT under a new key with
    the data so far, the old row gone."""
    store = SessionStore()
    store["before"] = "ログイン前"
    store.save()
    old = store.session_key
    store.cycle_key()
    assert store.session_key != old and not store.exists(old)
    assert django_store.SessionStore(store.session_key).load() == {"before": "ログイン前"}
