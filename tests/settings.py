"""Test settings: production settings with a fixed key, the local-memory mail outbox, and DEBUG off."""

import os

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
