"""Test settings: production settings with a fixed key, the local-memory mail outbox, and DEBUG off."""

import os

os.environ.setdefault("CORPBANK_SECRET_KEY", "test-only-secret-key-0123456789abcdef")

from corpbank.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
