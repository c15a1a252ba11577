"""Django settings, read from environment variables.

Development defaults are safe; a production setting that is missing raises at start (never silently
defaulted): with CORPBANK_DEBUG off, CORPBANK_SECRET_KEY must be set.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import time
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("CORPBANK_VAR_DIR", Path.cwd() / "var")).resolve()


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def mandatory(name: str, file_name: str) -> str:
    """A production secret: from the environment, else from the file under CORPBANK_VAR_DIR that
    `make run` generates (mode 600); missing both stops the start."""
    value = os.environ.get(name, "")
    path = VAR_DIR / file_name
    if not value and path.exists():
        value = path.read_text().strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when CORPBANK_DEBUG is off (or {path} exist)")
    return value


DEBUG = env_flag("CORPBANK_DEBUG", False)
SECRET_KEY = os.environ.get("CORPBANK_SECRET_KEY") or (
    "insecure-development-key-never-use-in-production"
    if DEBUG
    else mandatory("CORPBANK_SECRET_KEY", "secret.key")
)
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("CORPBANK_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CORPBANK_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.sessions",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.humanize",  # intcomma: amounts in yen with thousands separators
    "corpbank.apps.CorpbankConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The API's errors from below it (an unknown path, a wrong method, a server error) in its shape.
    "corpbank.web.middleware.ApiErrorShapeMiddleware",
    # The back office's host and networks first (anything else there is a 404, whatever it holds),
    # and its own cookies, before the session (web/backoffice_site.py).
    "corpbank.web.backoffice_site.BackofficeSiteMiddleware",
    # Before anything reads a session, a form or the database: refuses NUL, control characters and
    # lone surrogates in every input (web/edge.py, core/text.py).
    "corpbank.web.edge.EdgeGuardMiddleware",
    "corpbank.web.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "corpbank.web.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "corpbank.urls"
WSGI_APPLICATION = "corpbank.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csrf",
                "django.contrib.messages.context_processors.messages",
                "corpbank.web.context.common",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'corpbank.sqlite3'}"),
        conn_max_age=int(os.environ.get("CORPBANK_DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock at BEGIN, so two writers queue behind the busy
    # timeout instead of failing with "database is locked" when a read transaction upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters bound by the server and, from a statement's fifth run on a connection, its plan kept
    # (a prepared statement): what every request's few statements cost the server drops by about a
    # third (docs/operations.md, "What to expect"). Behind a pooler that hands one connection to
    # several clients between transactions (PgBouncer's transaction mode before 1.21), set
    # CORPBANK_DB_PREPARE_THRESHOLD=off.
    _threshold = os.environ.get("CORPBANK_DB_PREPARE_THRESHOLD", "5")
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "server_side_binding": True,
            "prepare_threshold": None if _threshold == "off" else int(_threshold),
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sessions: server-side, rotated at login, ended after inactivity (R-A5). The inactivity limit is the
# bank policy's, checked by the middleware against the clock (SESSION_COOKIE_AGE below).
# Django's database store (its one read per request in plain SQL, web/session_store.py): a session row
# the server deleted or let expire is never resumed.
SESSION_ENGINE = "corpbank.web.session_store"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# A session is written when it changes: its last activity at most every 15 seconds (web/sessions.py), so
# most requests read their session and write nothing.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Production fails closed: served over HTTPS — Secure cookies, HSTS (with subdomains), plain HTTP
# redirected — unless the deployment says it is plain HTTP for development (CORPBANK_INSECURE_HTTP=1,
# which CORPBANK_DEBUG implies; `make run` and the tests set it). CORPBANK_HTTPS=1 says HTTPS whatever
# the other two say (`corpbank serve --tls` sets it).
HTTPS = env_flag("CORPBANK_HTTPS", not env_flag("CORPBANK_INSECURE_HTTP", DEBUG))
SECURE_COOKIES = env_flag("CORPBANK_SECURE_COOKIES", HTTPS)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = env_flag("CORPBANK_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("CORPBANK_HSTS_SECONDS", 63072000 if HTTPS else 0))  # 2 years
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
CSRF_COOKIE_HTTPONLY = False  # the API's JavaScript clients read it to send X-CSRFToken
CSRF_COOKIE_SAMESITE = "Lax"
# A refused form gets the bank's page, not Django's (which names its settings).
CSRF_FAILURE_VIEW = "corpbank.web.pages.csrf_failure"
if env_flag("CORPBANK_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Reverse proxies whose X-Real-IP header names the client (addresses or networks, comma-separated).
# From anywhere else the header is ignored and the client is the connection's peer.


def networks(name: str) -> list[str]:
    """A comma-separated list of addresses or networks; a typo stops the start, not every request."""
    items = [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as error:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an address or a network") from error
    return items


CORPBANK_TRUSTED_PROXIES = networks("CORPBANK_TRUSTED_PROXIES")
# The back office on the bank's internal network only (docs/operations.md): its own host name (which
# must also be in CORPBANK_ALLOWED_HOSTS; the customers' host then answers 404 for /backoffice/), and
# the client networks it answers (addresses or networks, comma-separated). Unset: any host, any client.
CORPBANK_BACKOFFICE_HOST = os.environ.get("CORPBANK_BACKOFFICE_HOST", "").strip().lower()
CORPBANK_BACKOFFICE_NETWORKS = networks("CORPBANK_BACKOFFICE_NETWORKS")
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Tokyo"
USE_TZ = True

# Mail (R-I4, R-E11): one fixed sender.
EMAIL_HOST = os.environ.get("CORPBANK_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("CORPBANK_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("CORPBANK_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("CORPBANK_SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_flag("CORPBANK_SMTP_STARTTLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("CORPBANK_MAIL_FROM", "ib-noreply@corpbank.example")
EMAIL_BACKEND = os.environ.get("CORPBANK_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")

# Keys that seal OTP token seeds at rest (AES-256-GCM), "key-id:base64-of-32-bytes" separated by
# commas; the first seals new seeds, the others only open older ones until `corpbank tokens rotate-key`
# has re-sealed them (docs/operations.md). Required in production.
CORPBANK_SEED_KEYS = os.environ.get("CORPBANK_SEED_KEYS") or (
    "dev:ZGV2ZWxvcG1lbnQtb25seS1zZWVkLWtleS0wMTIzNDU="
    if DEBUG
    else mandatory("CORPBANK_SEED_KEYS", "seed.keys")
)

# Keys that chain the audit log (HMAC-SHA256, R-I3), the same form as CORPBANK_SEED_KEYS and kept off
# the database like them: someone who can write the database cannot seal history of their own. The
# first seals; keep every older key while events sealed under it exist. Required in production.
CORPBANK_AUDIT_KEYS = os.environ.get("CORPBANK_AUDIT_KEYS") or (
    "dev:ZGV2ZWxvcG1lbnQtb25seS1hdWRpdC1rZXktMDEyMzQ="
    if DEBUG
    else mandatory("CORPBANK_AUDIT_KEYS", "audit.keys")
)
# How long the audit sealer waits after an act's commit wakes it, so that the acts committed meanwhile are
# sealed in one transaction (core/audit.py): seconds an event stays unsealed, for less work per event.
CORPBANK_AUDIT_SEAL_DELAY = float(os.environ.get("CORPBANK_AUDIT_SEAL_DELAY", "0.2"))
# Where `corpbank audit checkpoint` appends the chain's signed head and `corpbank audit verify` reads it:
# a file the database's users cannot write (ship it to another host, docs/operations.md).
CORPBANK_AUDIT_CHECKPOINTS = Path(
    os.environ.get("CORPBANK_AUDIT_CHECKPOINTS", VAR_DIR / "audit-checkpoints.jsonl")
)

# The passphrase that encrypts the bank's CA private key at rest (client certificates, R-F2). Needed
# only by a bank that issues certificates: CA operations refuse clearly without it.
_ca_passphrase_file = VAR_DIR / "ca.passphrase"
CORPBANK_CA_PASSPHRASE = os.environ.get("CORPBANK_CA_PASSPHRASE") or (
    _ca_passphrase_file.read_text().strip()
    if _ca_passphrase_file.exists()
    else ("development-only-ca-passphrase" if DEBUG else "")
)
# The login methods this bank offers new contracts (R-F1: a bank may offer the certificate method only).
CORPBANK_LOGIN_METHODS = [
    method.strip()
    for method in os.environ.get("CORPBANK_LOGIN_METHODS", "password,certificate").split(",")
    if method.strip()
]
# How long a client certificate is valid (R-F2); renewal is offered this many days before its end.
CORPBANK_CERTIFICATE_DAYS = int(os.environ.get("CORPBANK_CERTIFICATE_DAYS", "365"))
CORPBANK_CERTIFICATE_RENEWAL_DAYS = int(os.environ.get("CORPBANK_CERTIFICATE_RENEWAL_DAYS", "30"))

# The bank's policy profile (see corpbank.core.policy): "rokin" or "suspend-at-6", plus overrides.
# R-G2, R-I1: the day's cut-off for same-day transfers and how far ahead a transfer may be dated, until
# the back office edits them (calendar.models.ServiceSettings).
CORPBANK_TRANSFER_CUTOFF = time.fromisoformat(os.environ.get("CORPBANK_TRANSFER_CUTOFF", "15:00"))
CORPBANK_TRANSFER_MAX_DAYS_AHEAD = int(os.environ.get("CORPBANK_TRANSFER_MAX_DAYS_AHEAD", "60"))
CORPBANK_POLICY = os.environ.get("CORPBANK_POLICY", "rokin")
CORPBANK_BANK_NAME = os.environ.get("CORPBANK_BANK_NAME", "コープ労働金庫")
# The bank's 金融機関コード and its name in the Zengin half-width kana, as transfers and the interbank file
# carry them. 2999 is no bank's code in the Zengin data: the demo bank's own.
CORPBANK_BANK_CODE = os.environ.get("CORPBANK_BANK_CODE", "2999")
CORPBANK_BANK_NAME_KANA = os.environ.get("CORPBANK_BANK_NAME_KANA", "ｺ-ﾌﾟﾛｳｷﾝ")
CORPBANK_HELPDESK_PHONE = os.environ.get("CORPBANK_HELPDESK_PHONE", "0120-000-000")

# No secret ever reaches a log: request bodies are never logged, and the audit log stores no secrets.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CORPBANK_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
# Numeric overrides of the profile, each from CORPBANK_<NAME> (see docs/operations.md).
# R-E3: the bank's fees (yen) for an additional token and for a reissue after loss.
CORPBANK_TOKEN_FEE_ADDITIONAL = int(os.environ.get("CORPBANK_TOKEN_FEE_ADDITIONAL", "1100"))
CORPBANK_TOKEN_FEE_REISSUE = int(os.environ.get("CORPBANK_TOKEN_FEE_REISSUE", "2200"))
# Software tokens (R-E9): the bank's service ID the phone app is set up with, and where the app is got.
CORPBANK_SOFTTOKEN_SERVICE_ID = os.environ.get("CORPBANK_SOFTTOKEN_SERVICE_ID", "CORPBANK01")
CORPBANK_SOFTTOKEN_APP_URL = os.environ.get(
    "CORPBANK_SOFTTOKEN_APP_URL", "https://ib.corpbank.example/softtoken/"
)
CORPBANK_OTP_ALGORITHM = os.environ.get("CORPBANK_OTP_ALGORITHM", "sha1")
CORPBANK_OTP_DIGITS = int(os.environ.get("CORPBANK_OTP_DIGITS", "6"))
CORPBANK_POLICY_TUNING = {
    name: int(os.environ[f"CORPBANK_{name}"])
    for name in (
        "LOCKOUT_MAX_FAILURES",
        "LOCKOUT_MINUTES",
        "LOCKOUTS_BEFORE_SUSPENSION",
        "PASSWORD_LIFETIME_DAYS",
        "PASSWORD_WARNING_DAYS",
        "SESSION_INACTIVITY_MINUTES",
        "INITIAL_PASSWORD_DAYS",
        "MAX_GENERAL_USERS",
        "OTP_MAX_FAILURES",
        "OTP_WINDOW_STEPS",
        "OTP_MAX_DRIFT_STEPS",
        "TOKEN_REREGISTRATION_DELAY_MINUTES",
        "UNKNOWN_LOGIN_RETENTION_HOURS",
        "UNKNOWN_LOGIN_MAX_ROWS",
    )
    if os.environ.get(f"CORPBANK_{name}")
}
# The store keeps a session half a day beyond the inactivity limit: the middleware ends it at the limit
# (R-A5) and can then tell the user why; were the store to drop it first, the user would come back to
# the login page without a word. Past the limit a session is never resumed either way.
SESSION_COOKIE_AGE = 60 * CORPBANK_POLICY_TUNING.get("SESSION_INACTIVITY_MINUTES", 10) + 12 * 3600
