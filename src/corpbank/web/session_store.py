"""Django's database session store, one statement per write.

Django's store checks that a new key is free (a SELECT) and wraps every write in a transaction (BEGIN,
INSERT or UPDATE, COMMIT): four round trips on each login. A single INSERT or UPDATE in autocommit mode
is atomic by itself, and the key's primary-key constraint already refuses a duplicate, so a collision
of two 32-character random keys (never seen in practice) just draws again."""

from __future__ import annotations

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import DatabaseError, IntegrityError, router, transaction
from django.utils.crypto import get_random_string


class SessionStore(DatabaseSessionStore):
    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        obj = self.create_model_instance(data)
        using = router.db_for_write(self.model, instance=obj)
        if transaction.get_connection(using).in_atomic_block:
            # Inside somebody's transaction a failed statement would poison it: keep Django's savepoint.
            return super().save(must_create=must_create)
        try:
            obj.save(force_insert=must_create, force_update=not must_create, using=using)
        except IntegrityError as error:
            if must_create:
                raise CreateError from error
            raise
        except DatabaseError as error:
            if not must_create:
                raise UpdateError from error
            raise
        return None
