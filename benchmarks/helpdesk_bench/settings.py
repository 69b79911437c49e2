"""A minimal Django project for django-helpdesk: what its install docs ask for, nothing else.

Environment: ``HELPDESK_BENCH_DATABASE_URL`` (``sqlite:///...`` or ``postgres://...``),
``HELPDESK_BENCH_DIR`` (a scratch directory for attachments) and, when served,
``HELPDESK_BENCH_CONN_MAX_AGE``. SQLite gets the same connection
options Amends uses (WAL, synchronous=NORMAL, IMMEDIATE transactions), so that the comparison
is of the applications, not of journal modes; PostgreSQL the options Amends gives it
(server-side binding, statements prepared after five runs, no JIT;
``HELPDESK_BENCH_PG_PREPARED=0`` for Django's defaults). Outgoing mail goes to Django's
locmem backend.
"""

import os
from pathlib import Path

import dj_database_url

BASE = Path(os.environ.get("HELPDESK_BENCH_DIR", "/tmp/helpdesk-bench"))
SECRET_KEY = "helpdesk-bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.sites",  # helpdesk: the domain in e-mail links
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # helpdesk: elapsed times
    "rest_framework",  # helpdesk's API
    "rest_framework.authtoken",  # its clients' tokens (benchmarks/api.py)
    "helpdesk",
]
SITE_ID = 1
# helpdesk's DRF API under /helpdesk/api/ (benchmarks/api.py), on by default in 2.6.1; said
# here. DRF's default authentication (session, HTTP Basic) plus its token: an API client
# sends ``Authorization: Token <key>`` (one indexed read), as an Amends client sends its
# bearer token; HTTP Basic would hash the password (PBKDF2) on every request.
HELPDESK_API_ENABLED = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
}
# pinax-teams is optional; without it, teams mode must be off (helpdesk's docs/teams.rst).
HELPDESK_TEAMS_MODE_ENABLED = False

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "benchmarks.helpdesk_bench.urls"
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

# Served over HTTP (benchmarks/public.py), it keeps its connections as Amends does on
# PostgreSQL (CONN_MAX_AGE 60): HELPDESK_BENCH_CONN_MAX_AGE; 0 (one per request) otherwise.
_db = dict(
    dj_database_url.parse(
        os.environ["HELPDESK_BENCH_DATABASE_URL"],
        conn_max_age=int(os.environ.get("HELPDESK_BENCH_CONN_MAX_AGE", "0")),
    )
)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=20000;"
            "PRAGMA foreign_keys=ON;"
        ),
    }
else:
    # The options Amends gives PostgreSQL (config/settings.py): parameters bound by the
    # server, a statement run five times on a connection prepared once, no JIT.
    # HELPDESK_BENCH_PG_PREPARED=0 measures Django's defaults instead.
    _db["OPTIONS"] = {"options": "-c jit=off"}
    if os.environ.get("HELPDESK_BENCH_PG_PREPARED", "1") != "0":
        _db["OPTIONS"].update(server_side_binding=True, prepare_threshold=5)
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
MEDIA_ROOT = BASE / "media"
MEDIA_URL = "/media/"
LOGIN_URL = "/helpdesk/login/"

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "helpdesk@example.invalid"
