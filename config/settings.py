"""Amends settings: one module, every value read from the environment.

Local defaults are safe and need no configuration (SQLite under ``var/``, a secret key
generated once and kept in ``var/secret_key``). ``AMENDS_ENV=production`` refuses to start
without ``SECRET_KEY`` and ``ALLOWED_HOSTS``. See README.md, "Configuration".
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Generic admin and queryset classes (ModelAdmin[Provider]) at runtime, for the type checker.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("AMENDS_VAR_DIR", BASE_DIR / "var")).resolve()

AMENDS_ENV = os.environ.get("AMENDS_ENV", "local").strip().lower()
if AMENDS_ENV not in {"local", "production"}:
    raise ImproperlyConfigured(f"AMENDS_ENV must be 'local' or 'production', not {AMENDS_ENV!r}")
PRODUCTION = AMENDS_ENV == "production"


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def _env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _local_secret_key() -> str:
    """A key generated once per checkout and kept under var/, so sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting together keep the first key written.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY is required when AMENDS_ENV=production")
    SECRET_KEY = _local_secret_key()


DEBUG = _env_bool("AMENDS_DEBUG", False)
ALLOWED_HOSTS = _env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when AMENDS_ENV=production")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", [])


def _local_key_file(name: str) -> str:
    """A key generated once per checkout and kept under var/ (local use only)."""
    path = VAR_DIR / name
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


# The audit chain's key (HMAC-SHA256): never in the database, so that whoever can write the
# database cannot forge a seal. Keep it in the secret store beside SECRET_KEY; losing it
# means old events can no longer be verified.
AMENDS_AUDIT_KEY = os.environ.get("AMENDS_AUDIT_KEY", "")
if not AMENDS_AUDIT_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("AMENDS_AUDIT_KEY is required when AMENDS_ENV=production")
    AMENDS_AUDIT_KEY = _local_key_file("audit_key")
# Where the sealed checkpoints of each provider's chain head are appended (JSON lines). Put it
# outside the database's reach: another disk, a mounted append-only store, a synced folder.
AMENDS_AUDIT_CHECKPOINT_DIR = Path(
    os.environ.get("AMENDS_AUDIT_CHECKPOINT_DIR", VAR_DIR / "audit")
).resolve()
# How often the worker writes a checkpoint when a chain has moved (seconds).
AMENDS_AUDIT_CHECKPOINT_EVERY = float(os.environ.get("AMENDS_AUDIT_CHECKPOINT_EVERY", "300"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    # Staff sign-in: lockout after repeated failures, the TOTP second factor.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "amends.core",
    "amends.providers",
    "amends.cases",
    "amends.comms",
    "amends.codes",
    "amends.console",
    "amends.portal",
    "amends.api",
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The customer's language (English or Welsh) from their choice (cookie), else the browser.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "amends.console.auth.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database ------------------------------------------------------------------------------
# SQLite is the embedded default; PostgreSQL (DATABASE_URL=postgres://...) is production.
SQLITE_PATH = VAR_DIR / "amends.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{SQLITE_PATH}"
if DATABASE_URL.startswith("sqlite"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)

_default_db: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=0))
if _default_db["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web workers and job workers) share one file: WAL lets readers run
    # beside the writer, IMMEDIATE takes the write lock at BEGIN so two writers queue instead
    # of failing mid-transaction, and the busy timeout is how long they queue.
    _default_db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=20000;"
            "PRAGMA foreign_keys=ON;"
        ),
    }
    # Tests against a file (not :memory:) so that subprocess tests (server, worker) see it.
    _default_db["TEST"] = {"NAME": str(VAR_DIR / "test-amends.sqlite3")}
else:
    # PostgreSQL's JIT compiles any query whose estimate passes jit_above_cost: for the
    # console's short aggregates over many cases it cost more than the query itself
    # (benchmarks/RESULTS.md, "Staff console"). Amends runs short transactions only.
    _default_db.setdefault("OPTIONS", {})["options"] = "-c jit=off"
    # Parameters travel apart from the SQL (server-side binding) and a statement run five
    # times on a connection is prepared once: the server parses and plans it once, and the
    # driver no longer quotes every value into the text (benchmarks/RESULTS.md, "Typed
    # services"). Behind a pooler that cannot keep prepared statements (PgBouncer in
    # transaction mode before 1.21), set AMENDS_PG_PREPARED=false. After a migration that
    # changes a column's type, restart the processes (README, "To upgrade"): a kept
    # connection's prepared read of that column is refused once.
    if _env_bool("AMENDS_PG_PREPARED", True):
        _default_db["OPTIONS"].update(server_side_binding=True, prepare_threshold=5)
    _default_db["CONN_HEALTH_CHECKS"] = True
    _default_db["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
DATABASES = {"default": _default_db}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The public forms: at most this many submissions per hour from one IP address and for one
# contact address (then 429, nothing stored), and the largest POST read (then 413).
AMENDS_PUBLIC_LIMIT_PER_IP = int(os.environ.get("AMENDS_PUBLIC_LIMIT_PER_IP", "20"))
AMENDS_PUBLIC_LIMIT_PER_ADDRESS = int(os.environ.get("AMENDS_PUBLIC_LIMIT_PER_ADDRESS", "5"))
AMENDS_PUBLIC_LIMIT_WINDOW = int(os.environ.get("AMENDS_PUBLIC_LIMIT_WINDOW", "3600"))
AMENDS_PUBLIC_MAX_POST_BYTES = int(os.environ.get("AMENDS_PUBLIC_MAX_POST_BYTES", "262144"))

# Cache: the public forms' rate limits count here. One process locally (memory); several web
# processes or hosts must share one count: AMENDS_CACHE_URL=redis://host:6379/0.
_cache_url = os.environ.get("AMENDS_CACHE_URL", "").strip()
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Auth ----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes' backend comes first: it refuses a locked-out username or address before the
# password is checked (it needs ``request`` passed to authenticate(), as LoginView does).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "portal:home"

# Staff sign-in (amends/console/auth.py) ----------------------------------------------------
# Sessions end after AMENDS_SESSION_HOURS (8) and when the browser closes.
AMENDS_SESSION_HOURS = float(os.environ.get("AMENDS_SESSION_HOURS", "8"))
SESSION_COOKIE_AGE = int(AMENDS_SESSION_HOURS * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Lockout: AMENDS_LOCKOUT_FAILURES (5) failed sign-ins for one username, or from one address,
# within AMENDS_LOCKOUT_MINUTES (15) refuse every further attempt (the right password too)
# for AMENDS_LOCKOUT_MINUTES after the last counted failure; a successful sign-in clears it.
AXES_FAILURE_LIMIT = int(os.environ.get("AMENDS_LOCKOUT_FAILURES", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("AMENDS_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# Attempts refused during a lockout do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "amends.console.auth.locked_out"
# Axes' log lines name the path only: never the username typed, nor the address.
AXES_VERBOSE = False
AXES_CLIENT_STR_CALLABLE = "amends.console.auth.axes_client_str"
# Behind AMENDS_PROXY_COUNT proxies (0: none) the client's address is taken from
# X-Forwarded-For, so the per-address lockout is not the proxy's.
AMENDS_PROXY_COUNT = int(os.environ.get("AMENDS_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "amends.core.http.client_ip"
# The second factor (TOTP, django-otp): roles that cannot use the console without one.
AMENDS_REQUIRE_TOTP_ROLES = tuple(
    role.lower()
    for role in _env_list("AMENDS_REQUIRE_TOTP_ROLES", ["admin", "compliance"])
    if role.lower() != "none"
)
OTP_TOTP_ISSUER = "Amends"

# Time and language -----------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
#: The public pages and the customer's case page ship in English and Welsh (ISS is in Ebbw
#: Vale); a provider's own code text stays as the provider wrote it.
LANGUAGES = [("en-gb", "English"), ("cy", "Cymraeg")]
LOCALE_PATHS = [BASE_DIR / "amends" / "locale"]
LANGUAGE_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Europe/London"
USE_I18N = True

# Content Security Policy (django-csp): only our own scripts, styles, images and forms; no
# inline script or style anywhere (a view that serves a self-contained document, such as the
# published code, widens style-src for itself only). The admin is Django's own: left out.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}
USE_TZ = True

# Static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Locally, serve straight from the apps (no collectstatic step); production collects.
WHITENOISE_USE_FINDERS = not PRODUCTION
# Files (raw inbound messages, attachments, printed letters) go through Django's storage API:
# the filesystem under var/files by default; an S3-compatible bucket (django-storages) when
# several hosts run Amends (AMENDS_STORAGE=s3 and the AWS_* variables django-storages reads:
# AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
# Never served from the web root: the views that show them check access first.
MEDIA_ROOT = Path(os.environ.get("AMENDS_FILES_DIR", VAR_DIR / "files")).resolve()
MEDIA_URL = "/files/"
AMENDS_STORAGE = os.environ.get("AMENDS_STORAGE", "filesystem").strip().lower()
if AMENDS_STORAGE not in {"filesystem", "s3"}:
    raise ImproperlyConfigured(
        f"AMENDS_STORAGE must be 'filesystem' or 's3', not {AMENDS_STORAGE!r}"
    )
_DEFAULT_STORAGE: dict[str, Any] = (
    {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"default_acl": "private"}}
    if AMENDS_STORAGE == "s3"
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
)
STORAGES = {
    "default": _DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Email -----------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "complaints@amends.localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The right-hand side of the Message-IDs Amends writes (stable per outbox row).
AMENDS_MAIL_DOMAIN = os.environ.get(
    "AMENDS_MAIL_DOMAIN", DEFAULT_FROM_EMAIL.rpartition("@")[2] or "amends.localhost"
)

# Security (production) ---------------------------------------------------------------------
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Email delivery: attempts before an email is given up (dead) and staff alerted; the waits
# double from 1 minute to at most an hour, so 30 attempts span about a day (a relay outage of
# a few hours loses nothing). The lease: how long a claimed email is not due for another
# worker (after a crash mid-send it goes again once this has passed, with the same Message-ID).
AMENDS_EMAIL_MAX_ATTEMPTS = int(os.environ.get("AMENDS_EMAIL_MAX_ATTEMPTS", "30"))
AMENDS_EMAIL_LEASE = float(os.environ.get("AMENDS_EMAIL_LEASE", "600"))

# Webhooks: seconds a receiver has to answer; whether endpoints may be http:// or on private
# and loopback addresses (never in production: an endpoint must not reach into our network).
AMENDS_WEBHOOK_TIMEOUT = float(os.environ.get("AMENDS_WEBHOOK_TIMEOUT", "10"))
AMENDS_WEBHOOK_ALLOW_LOCAL = _env_bool("AMENDS_WEBHOOK_ALLOW_LOCAL", not PRODUCTION)

# API: requests per token per minute (429 with Retry-After beyond it); an Idempotency-Key's
# answer is replayed for a day.
AMENDS_API_RATE_PER_MINUTE = int(os.environ.get("AMENDS_API_RATE_PER_MINUTE", "600"))

# Worker ------------------------------------------------------------------------------------
AMENDS_WORKER_INTERVAL = float(os.environ.get("AMENDS_WORKER_INTERVAL", "5"))
# A heartbeat older than this makes /healthz report the worker as stale.
AMENDS_WORKER_STALE_AFTER = float(os.environ.get("AMENDS_WORKER_STALE_AFTER", "60"))
AMENDS_WORKER_SWEEPS = [
    "amends.cases.worker.obligation_sweep",
    "amends.cases.events.audit_checkpoint_sweep",
    "amends.comms.sender.outbox_email_sweep",
    "amends.comms.intake.inbound_sweep",
]
#: Sweeps that wait on others' servers, in the worker's second thread (see amends.core.worker).
AMENDS_WORKER_LANE_SWEEPS = ["amends.comms.webhooks.webhook_sweep"]

# Logging: ids, never people (see architecture.md, convention 11) -----------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "amends.core.logging.JsonFormatter"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "json"},
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # runserver's request lines: JSON like the rest, without query strings (Django's own
        # handler for this logger would print the whole request line).
        "django.server": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # WeasyPrint logs every layout step at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
