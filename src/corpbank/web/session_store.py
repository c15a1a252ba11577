"""Django's database session store, one plain statement per read and per write.

Django's store checks that a new key is free (a SELECT), wraps every write in a transaction (BEGIN,
INSERT or UPDATE, COMMIT) and compiles each statement through the ORM, on every request. A single
INSERT or UPDATE in autocommit mode is atomic by itself, and the key's primary-key constraint already
refuses a duplicate, so a collision of two 32-character random keys (never seen in practice) just
draws again. The read is the same SELECT the ORM would send, written out."""

from __future__ import annotations

import base64
import secrets

from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import IntegrityError, router, transaction
from django.utils import timezone

from corpbank.core.db import insert


class SessionStore(DatabaseSessionStore):
    def _get_new_session_key(self) -> str:
        # 160 random bits as 32 characters of a-z and 2-7, all valid in a session key: one read of
        # the system's random source, where Django's draws each character separately (32 reads).
        return base64.b32encode(secrets.token_bytes(20)).decode().lower()

    def load(self) -> dict[str, object]:
        connection = transaction.get_connection(router.db_for_read(self.model))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT session_data FROM django_session WHERE session_key = %s AND expire_date > %s",
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:  # unknown or expired: a new key is drawn when the session is saved
            self._session_key = None
            return {}
        return self.decode(row[0])

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        session = self.create_model_instance(data)
        using = router.db_for_write(self.model, instance=session)
        connection = transaction.get_connection(using)
        if connection.in_atomic_block:
            # Inside somebody's transaction a failed statement would poison it: keep Django's savepoint.
            return super().save(must_create=must_create)
        if must_create:
            try:
                insert(session, using)
            except IntegrityError as error:
                raise CreateError from error
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE django_session SET session_data = %s, expire_date = %s WHERE session_key = %s",
                [
                    session.session_data,
                    connection.ops.adapt_datetimefield_value(session.expire_date),
                    session.session_key,
                ],
            )
            if cursor.rowcount != 1:
                raise UpdateError  # the session was deleted meanwhile (logout elsewhere, or expiry)
        return None
