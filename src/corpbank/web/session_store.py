"""Django's database session store, with the statements that signed-in requests and logins make written
as plain SQL (issue 13): reading a session's row, checking that a new key is free, and updating the
row. The ORM compiled each of them at more CPU than the database spent running it. What
they do is Django's (`django.contrib.sessions.backends.db`): the row, its columns and the errors raised
are the same, and creating, rotating, deleting and clearing expired sessions are Django's code
unchanged."""

from __future__ import annotations

from contextlib import nullcontext

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.base_session import AbstractBaseSession
from django.contrib.sessions.models import Session
from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from corpbank.core.db import column_datetime


def _table(connection: BaseDatabaseWrapper) -> str:
    return connection.ops.quote_name(Session._meta.db_table)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Session | None:
        """The session's row if it exists and has not expired, else None and the key forgotten (so that
        a new session gets a new key), as Django's store reads it."""
        connection = connections[router.db_for_read(Session)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data, expire_date FROM {_table(connection)} WHERE session_key = %s",  # noqa: S608
                [self.session_key],
            )
            row = cursor.fetchone()
        if row is None or column_datetime(row[1]) <= timezone.now():
            self._session_key = None
            return None
        return Session(
            session_key=self.session_key or "", session_data=row[0], expire_date=column_datetime(row[1])
        )

    def exists(self, session_key: str) -> bool:
        connection = connections[router.db_for_read(Session)]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {_table(connection)} WHERE session_key = %s", [session_key])  # noqa: S608
            return cursor.fetchone() is not None

    def save(self, must_create: bool = False) -> None:
        """A new session is Django's (its INSERT, CreateError on a taken key). An existing one writes
        its data and expiry with one UPDATE, UpdateError if the row is gone, as Django's does. One
        statement needs no transaction of its own; inside one it runs in a savepoint, as Django's does.
        (A new session stays Django's: the data it is created with is only reachable through the
        store's private ``_get_session``.)"""
        if must_create or self.session_key is None:
            super().save(must_create=must_create)
            return
        session = self.create_model_instance(dict(self.items()))
        connection = connections[router.db_for_write(Session, instance=session)]
        with transaction.atomic(using=connection.alias) if connection.in_atomic_block else nullcontext():
            self._update(session, connection)

    @staticmethod
    def _update(session: AbstractBaseSession, connection: BaseDatabaseWrapper) -> None:
        fields = Session._meta
        data = fields.get_field("session_data").get_db_prep_save(session.session_data, connection)
        expires = fields.get_field("expire_date").get_db_prep_save(session.expire_date, connection)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_table(connection)} SET session_data = %s, expire_date = %s WHERE session_key = %s",  # noqa: S608
                [data, expires, session.session_key],
            )
            if cursor.rowcount != 1:
                raise UpdateError
