"""Test settings: production settings with a fixed key, the local-memory mail outbox, and DEBUG off."""

import os
import tempfile

os.environ.setdefault("CORPBANK_SECRET_KEY", "test-only-secret-key-0123456789abcdef")
# Two keys, so that tests can seal under the old one and rotate to the new one.
os.environ.setdefault(
    "CORPBANK_SEED_KEYS",
    "test2:dGVzdC1vbmx5LXNlZWQta2V5LW51bWJlci10d28tMDA=,test1:dGVzdC1vbmx5LXNlZWQta2V5LW51bWJlci1vbmUtMDA=",
)
# Two audit keys too: the second still checks what it sealed before the first was put in front.
os.environ.setdefault(
    "CORPBANK_AUDIT_KEYS",
    "audit2:dGVzdC1vbmx5LWF1ZGl0LWtleS1udW1iZXItdHdvLTA=,audit1:dGVzdC1vbmx5LWF1ZGl0LWtleS1udW1iZXItb25lLTA=",
)
# The sealer seals at once in the tests (tests/core/test_audit.py waits for it with sealer.drain()).
os.environ.setdefault("CORPBANK_AUDIT_SEAL_DELAY", "0")

os.environ.setdefault("CORPBANK_CA_PASSPHRASE", "test-only-ca-passphrase")
# Django's test client speaks plain HTTP: the tests are a plain-HTTP deployment, said explicitly (the
# servers of tests/servers.py drop it: the TLS tests run with production's Secure cookies and HSTS).
os.environ.setdefault("CORPBANK_INSECURE_HTTP", "1")

from corpbank.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# On the SQLite leg the test database is a file, as the embedded mode's is, not SQLite's shared-cache
# memory database: the audit sealer's thread (core/audit.py) writes beside the test's own connection,
# and only a file database makes a second writer wait for the lock (the busy timeout) instead of failing
# at once with "database table is locked". One file per run, removed at its end.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"corpbank_tests_{os.getpid()}.sqlite3")
    }
