"""Django's database session store, with the statements that signed-in requests and logins make written
as plain SQL (issue 13): reading a session's row, checking that a new key is free, inserting a new row
and updating one. The ORM compiled each of them at more CPU than the database spent running it. What
they do is Django's (`django.contrib.sessions.backends.db`): the row, its columns and the errors raised
are the same, and drawing a new key, rotating, deleting and clearing expired sessions are Django's code
unchanged."""

from __future__ import annotations

from contextlib import nullcontext

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.base_session import AbstractBaseSession
from django.contrib.sessions.models import Session
from django.db import IntegrityError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from corpbank.core.db import column_datetime, insert_statement


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
        """Django's save, its statements plain: a new session is one INSERT (CreateError on a taken
        key, so that Django's ``create`` draws another), an existing one one UPDATE (UpdateError if the
        row is gone). Each is a single statement, so it needs no transaction of its own; inside one it
        runs in a savepoint, so that its error leaves the transaction usable, as Django's does.

        The data of a session being created is read with ``_get_session(no_load=True)``, as Django's
        own backends read it (db, cache, file): the session has no row yet, and no public method gives
        its data without trying to load one."""
        if self.session_key is None:
            self.create()
            return
        data = self._get_session(no_load=True) if must_create else dict(self.items())
        session = self.create_model_instance(data)
        connection = connections[router.db_for_write(Session, instance=session)]
        with transaction.atomic(using=connection.alias) if connection.in_atomic_block else nullcontext():
            if must_create:
                self._insert(session, connection)
            else:
                self._update(session, connection)

    @staticmethod
    def _insert(session: AbstractBaseSession, connection: BaseDatabaseWrapper) -> None:
        statement, values = insert_statement(session, connection.alias)
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, values)
        except IntegrityError as taken:
            raise CreateError from taken

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
