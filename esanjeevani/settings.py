"""Settings, read from the environment.

One machine runs everything on embedded defaults (SQLite, an in-memory channel layer, Celery in
eager mode); many machines set ``DATABASE_URL`` and ``REDIS_URL``. Every variable is listed in the
README. With ``DEBUG`` off a missing secret stops start-up instead of falling back to a default.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django_stubs_ext
import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# Lets ``ModelAdmin[Model]``-style generics (for the type checker) work at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

# FileAwareEnv also reads ``NAME_FILE`` (a path) for every ``NAME``: container secrets.
env = environ.FileAwareEnv()

DEBUG = env.bool("DEBUG", default=False)


def _secret(name: str, *, debug_default: str) -> str:
    # Secret files often end with a newline; it must not reach headers or signatures.
    value: str = env.str(name, default="").strip()
    if value:
        return value
    if DEBUG:
        return debug_default
    raise ImproperlyConfigured(
        f"{name} is not set. Set {name} (or {name}_FILE pointing to a file holding it) "
        "in the environment; only DEBUG=1 runs fall back to a development value."
    )


SECRET_KEY = _secret("SECRET_KEY", debug_default="dev-only-insecure-key-do-not-use-in-production")
if not DEBUG and len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long.")

ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Behind a TLS-terminating proxy in production: secure cookies, HSTS, proxy header.
HTTPS = env.bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
# Proxies in front of Daphne whose X-Forwarded-For entries are trusted (core/http.py). 0: none,
# the client address is the TCP peer, whatever headers say.
PROXY_COUNT = env.int("PROXY_COUNT", default=0)
if PROXY_COUNT < 0:
    raise ImproperlyConfigured("PROXY_COUNT must be 0 (no proxy) or the number of proxies.")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 60 * 60)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "channels",
    "core",
    "accounts",
    "notifications",
    "patients",
    "providers",
    "queues",
    "video",
    "consultations",
    "dashboards",
    "audit",
    "abdm",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise (static assets keep their caching), above everything that answers.
    "core.middleware.CacheControlMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.IndianTimeMiddleware",
    "core.middleware.ServiceErrorPageMiddleware",
    "core.middleware.ServiceUnavailableMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "esanjeevani.urls"
ASGI_APPLICATION = "esanjeevani.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.whoami",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))


def _database() -> dict[str, Any]:
    url: str = env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}").strip()
    scheme = urlsplit(url).scheme
    if scheme not in {"postgres", "postgresql", "sqlite"}:
        # Name only the scheme: the rest of the URL may hold a password.
        raise ImproperlyConfigured(
            f"DATABASE_URL has the unsupported scheme {scheme!r}: use "
            "postgres://user:password@host:port/name or sqlite:///path/to/db.sqlite3."
        )
    config: dict[str, Any] = env.db_url_config(url)
    return config


DATABASES = {"default": _database()}
_db: dict[str, Any] = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves concurrent requests only when configured for it: WAL lets
    # readers run beside a writer and IMMEDIATE transactions queue writers instead of failing
    # with "database is locked".
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
else:
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"].setdefault("connect_timeout", 5)
    if env.bool("DATABASE_POOL", default=True):
        # Under ASGI every request and socket event runs in a worker thread: a psycopg pool
        # (Django 5.1+) hands each a warm connection instead of opening a new one each time.
        _db["OPTIONS"]["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=20),
            "timeout": env.float("DATABASE_POOL_TIMEOUT_SECONDS", default=10.0),
        }
    else:
        _db.setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery broker ------------------------------------------------
REDIS_URL: str = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX: str = env.str("CACHE_KEY_PREFIX", default="esj")
CHANNEL_LAYER_PREFIX: str = env.str("CHANNEL_LAYER_PREFIX", default=CACHE_KEY_PREFIX)

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # One PUBLISH per group send, no silent drops over a capacity limit.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # Pub/sub ignores Redis database numbers: the prefix keeps deployments (and test
            # runs) that share a Redis server apart.
            "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNEL_LAYER_PREFIX},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # A separate Redis database keeps a cache flush from dropping queued tasks.
            "LOCATION": env.str("CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL: str = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER: bool = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TIMEZONE = "UTC"
# With Redis as broker, a task taken by a worker that dies (acks_late) goes back to the queue
# only after the visibility timeout (kombu's default: an hour). Every task here takes seconds:
# the time limits stop a stuck one well within the timeout, and no retry waits longer than
# CELERY_MAX_RETRY_COUNTDOWN (a longer wait is left to the beat sweeps), or a message held by a
# worker for its countdown would be handed to another one as well.
CELERY_VISIBILITY_TIMEOUT_SECONDS = env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=300)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT_SECONDS,
    # Workers look for such messages every ~60 s (prefork) or every few idle polls (solo), not
    # kombu's default ~100 s.
    "unacked_restore_throttle": 6,
}
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_VISIBILITY_TIMEOUT_SECONDS * 2 // 5
CELERY_TASK_TIME_LIMIT = CELERY_VISIBILITY_TIMEOUT_SECONDS // 2
CELERY_MAX_RETRY_COUNTDOWN = CELERY_VISIBILITY_TIMEOUT_SECONDS // 2
# A worker keeps retrying a broker that went away (never gives up and exits), also at start.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Beat goes on queueing while no worker consumes: every periodic task expires before its next
# run, so a worker that comes back finds one of each, not a backlog.
CELERY_BEAT_SCHEDULE = {
    # Web processes sweep the waiting room every QUEUE_SWEEP_SECONDS once they serve a request;
    # beat keeps the timers going when none has yet (e.g. right after a restart).
    "sweep-queues": {
        "task": "queues.tasks.sweep_queues",
        "schedule": 5.0,
        "options": {"expires": 5},
    },
    # Stored notifications whose delivery task was lost (broker message, dead worker).
    "retry-due-notifications": {
        "task": "notifications.tasks.retry_due_notifications",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # ABDM calls whose sending task was lost (broker message, dead worker): abdm.outbound.
    "send-overdue-abdm-messages": {
        "task": "abdm.tasks.send_overdue_messages",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Consents past their data-erase time: expired, artefact dropped (abdm.records).
    "expire-abdm-consents": {
        "task": "abdm.tasks.expire_consents",
        "schedule": 24 * 60 * 60.0,
        "options": {"expires": 60 * 60},
    },
    # Work that committed changes imply (the PDF of a signed prescription) and that is not done
    # in time: sent again with back-off (core.outbox).
    "relay-outbox": {
        "task": "core.tasks.relay_outbox",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # The day before a follow-up: 09:00-18:00 IST (03:30-12:30 UTC), hourly. Once per
    # prescription and date (idempotency key), so the repeats only catch a missed beat or a
    # prescription signed later in the day.
    "follow-up-reminders": {
        "task": "consultations.reminders.remind_follow_ups",
        "schedule": crontab(minute="30", hour="3-12"),
        "options": {"expires": 55 * 60},
    },
    # Dashboard rollups at most a minute behind the queue; a run not started within its
    # interval is dropped rather than queued behind the next one.
    "refresh-dashboard-rollups": {
        "task": "dashboards.tasks.refresh_rollups",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Whatever the incremental refresh missed, recomputed from the raw tables.
    "reconcile-dashboard-rollups": {
        "task": "dashboards.tasks.reconcile_rollups",
        "schedule": crontab(minute="17"),
        "options": {"expires": 55 * 60},
    },
}

# --- Authentication -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
LOGIN_URL = "accounts:patient-signin"
LOGIN_REDIRECT_URL = "home"

# Staff sign-in lock-out policy (accounts/lockout.py; README "Staff sign-in lock-out policy"):
# - a username at one client address locks after AXES_FAILURE_LIMIT failures for
#   AXES_COOLOFF_HOURS (django-axes keyed on username and address);
# - a client address (often a whole hospital behind one NAT) locks after
#   STAFF_LOGIN_MAX_FAILURES_PER_CLIENT failures on any usernames, for as long;
# - past STAFF_LOGIN_BACKOFF_AFTER failures from anywhere, a username answers one attempt per
#   delay, doubling from 2 s up to STAFF_LOGIN_BACKOFF_MAX_SECONDS: slower guessing, no long lock;
# - the account's known devices (a complete sign-in within KNOWN_DEVICE_DAYS) skip all three,
#   until STAFF_KNOWN_DEVICE_MAX_FAILURES failures in a row from that device.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.throttling.axes_lockout_response"
AXES_WHITELIST_CALLABLE = "accounts.lockout.is_known_device_attempt"
AXES_VERBOSE = False
# axes' log lines name clients by keyed hashes: no username or address in the logs.
AXES_CLIENT_STR_CALLABLE = "accounts.lockout.axes_client_str"
# The one rule for a client's address (PROXY_COUNT), not django-ipware's.
AXES_CLIENT_IP_CALLABLE = "core.http.client_ip"
STAFF_LOGIN_MAX_FAILURES_PER_CLIENT = env.int("STAFF_LOGIN_MAX_FAILURES_PER_CLIENT", default=30)
STAFF_LOGIN_BACKOFF_AFTER = env.int("STAFF_LOGIN_BACKOFF_AFTER", default=5)
STAFF_LOGIN_BACKOFF_MAX_SECONDS = env.int("STAFF_LOGIN_BACKOFF_MAX_SECONDS", default=120)
STAFF_KNOWN_DEVICE_MAX_FAILURES = env.int("STAFF_KNOWN_DEVICE_MAX_FAILURES", default=5)
# How long a device that completed a sign-in stays known (staff and patients).
KNOWN_DEVICE_DAYS = env.int("KNOWN_DEVICE_DAYS", default=90)

OTP_TOTP_ISSUER = "eSanjeevani"

# Patient sign-in by one-time code (see accounts/otp.py).
OTP_LENGTH = 6
OTP_TTL_SECONDS = env.int("OTP_TTL_SECONDS", default=300)
OTP_MAX_ATTEMPTS = env.int("OTP_MAX_ATTEMPTS", default=5)
OTP_RESEND_COOLDOWN_SECONDS = env.int("OTP_RESEND_COOLDOWN_SECONDS", default=30)
# Per number *and* requesting device (or address): a stranger's requests never use up the
# holder's allowance. Past OTP_NUMBER_BACKOFF_AFTER codes to a number in an hour, from anyone,
# devices that never signed in with it wait between codes: 1, 2, 4, 8 minutes, at most
# OTP_NUMBER_BACKOFF_MAX_SECONDS (README "One-time codes").
OTP_MAX_PER_MOBILE_PER_HOUR = env.int("OTP_MAX_PER_MOBILE_PER_HOUR", default=5)
OTP_MAX_PER_CLIENT_PER_HOUR = env.int("OTP_MAX_PER_CLIENT_PER_HOUR", default=30)
OTP_NUMBER_BACKOFF_AFTER = env.int("OTP_NUMBER_BACKOFF_AFTER", default=5)
OTP_NUMBER_BACKOFF_MAX_SECONDS = env.int("OTP_NUMBER_BACKOFF_MAX_SECONDS", default=600)
FAMILY_MAX_MEMBERS = env.int("FAMILY_MAX_MEMBERS", default=10)

# --- Waiting room (see docs/waiting-room.md) ----------------------------------------------------
QUEUE_DOCTOR_OFFER_SECONDS = env.int("QUEUE_DOCTOR_OFFER_SECONDS", default=60)
QUEUE_DOCTOR_GRACE_SECONDS = env.int("QUEUE_DOCTOR_GRACE_SECONDS", default=45)
QUEUE_PATIENT_AWAY_GRACE_SECONDS = env.int("QUEUE_PATIENT_AWAY_GRACE_SECONDS", default=600)
# A waiting-room page's presence lease: renewed by its heartbeats (a ping every 20 s, at most
# one a minute in a hidden tab), so it outlives them with room to spare.
QUEUE_PATIENT_LEASE_SECONDS = env.int("QUEUE_PATIENT_LEASE_SECONDS", default=90)
QUEUE_LANGUAGE_CAP_SECONDS = env.int("QUEUE_LANGUAGE_CAP_SECONDS", default=300)
QUEUE_POSITION_SMS_AT = env.int("QUEUE_POSITION_SMS_AT", default=3)
QUEUE_SWEEP_SECONDS = env.float("QUEUE_SWEEP_SECONDS", default=1.0)
QUEUE_SWEEPER_IN_WEB = env.bool("QUEUE_SWEEPER_IN_WEB", default=True)
QUEUE_BROADCAST_SECONDS = env.float("QUEUE_BROADCAST_SECONDS", default=0.5)
QUEUE_DEFAULT_CONSULT_SECONDS = env.int("QUEUE_DEFAULT_CONSULT_SECONDS", default=360)
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=5 * 1024 * 1024)
ATTACHMENT_MAX_FILES = env.int("ATTACHMENT_MAX_FILES", default=5)

# --- Sockets (see docs/waiting-room.md) ---------------------------------------------------------
# How often each web process checks that its sockets' sessions still sign their users in
# (expiry, a deleted session, a changed password); signing out closes them at once.
SOCKET_SESSION_CHECK_SECONDS = env.float("SOCKET_SESSION_CHECK_SECONDS", default=10.0)

# --- Video visits (see docs/signalling.md) -------------------------------------------------------
# e.g. STUN_URLS=stun:turn.example.in:3478 and TURN_URLS (comma-separated) with
#      turn:turn.example.in:3478?transport=udp, turn:turn.example.in:3478?transport=tcp and
#      turns:turn.example.in:443?transport=tcp (TURN over TLS on 443 gets through strict firewalls)
STUN_URLS: list[str] = env.list("STUN_URLS", default=[])
TURN_URLS: list[str] = env.list("TURN_URLS", default=[])
TURN_SECRET: str = env.str("TURN_SECRET", default="").strip()
TURN_CREDENTIAL_TTL_SECONDS = env.int("TURN_CREDENTIAL_TTL_SECONDS", default=3600)
# Signalling messages one call socket may send in 10 s before it is cut off (a call needs a
# few dozen; the relay benchmark raises it to measure the relay itself).
CALL_MESSAGES_PER_10_SECONDS = env.int("CALL_MESSAGES_PER_10_SECONDS", default=600)
# Pre-call network test (video/echo.py): echo peers one web process serves at once, and how
# many of them one client address may hold (each peer re-encodes video in the process).
PRECALL_PEERS_PER_PROCESS = env.int("PRECALL_PEERS_PER_PROCESS", default=20)
PRECALL_PEERS_PER_CLIENT = env.int("PRECALL_PEERS_PER_CLIENT", default=3)
# Tests keep WebRTC on 127.0.0.1: aiortc offers loopback candidates and pages drop the rest.
WEBRTC_LOOPBACK_ONLY = env.bool("WEBRTC_LOOPBACK_ONLY", default=False)
if TURN_URLS and not TURN_SECRET:
    raise ImproperlyConfigured(
        "TURN_URLS is set but TURN_SECRET (coturn's static-auth-secret) is not."
    )

# --- SMS and email -------------------------------------------------------------------------------
SMS_BACKEND: str = env.str("SMS_BACKEND", default="notifications.sms.ConsoleSmsBackend")
SMS_FILE_PATH: str = env.str("SMS_FILE_PATH", default=str(VAR_DIR / "sms.jsonl"))
SMS_GATEWAY_URL: str = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_API_KEY: str = env.str("SMS_GATEWAY_API_KEY", default="").strip()
SMS_SENDER_ID: str = env.str("SMS_SENDER_ID", default="ESANJV")
SMS_GATEWAY_TIMEOUT_SECONDS: float = env.float("SMS_GATEWAY_TIMEOUT_SECONDS", default=10.0)
if SMS_BACKEND.endswith("HttpGatewaySmsBackend"):
    _missing = [n for n in ("SMS_GATEWAY_URL", "SMS_GATEWAY_API_KEY") if not globals()[n]]
    if _missing:
        raise ImproperlyConfigured(
            f"SMS_BACKEND is the HTTP gateway but {' and '.join(_missing)} is not set."
        )


_email: dict[str, Any] = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND: str = _email["EMAIL_BACKEND"]
EMAIL_HOST: str = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT: int = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER: str = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD: str = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS: bool = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL: bool = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_FILE_PATH: str = _email.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL: str = env.str("DEFAULT_FROM_EMAIL", default="eSanjeevani <noreply@localhost>")
# Where patients reach this service: links in SMS and e-mail (and on printed prescriptions).
PUBLIC_BASE_URL: str = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# ABDM (docs/abdm.md). The defaults point at the offline gateway that `make run` and the tests
# start (abdm_gateway/); for ABDM's sandbox set ABDM_GATEWAY_URL=https://dev.abdm.gov.in/api/hiecm,
# ABDM_ABHA_URL=https://abhasbx.abdm.gov.in/abha/api/v3, ABDM_CM_ID=sbx and the client id and
# secret ABDM issued. The same client code talks to both.
ABDM_GATEWAY_URL: str = env.str("ABDM_GATEWAY_URL", default="http://127.0.0.1:8090/api/hiecm")
ABDM_ABHA_URL: str = env.str("ABDM_ABHA_URL", default="http://127.0.0.1:8090/abha/api/v3")
ABDM_CLIENT_ID: str = env.str("ABDM_CLIENT_ID", default="ESANJEEVANI_OFFLINE")
ABDM_CLIENT_SECRET: str = env.str("ABDM_CLIENT_SECRET", default="offline-gateway-secret")
ABDM_CM_ID: str = env.str("ABDM_CM_ID", default="sbx")
ABDM_HIP_ID: str = env.str("ABDM_HIP_ID", default="IN0910000001")
ABDM_HIP_NAME: str = env.str("ABDM_HIP_NAME", default="eSanjeevani OPD")
# What a counter's Scan & Share QR encodes (ABDM's PHR link; hip-id and counter-id are added).
ABDM_SHARE_PROFILE_URL: str = env.str(
    "ABDM_SHARE_PROFILE_URL", default="https://phrsbx.abdm.gov.in/share-profile"
)
# The HPR and HFR lookups (sandbox https://apihspsbx.abdm.gov.in/v4/int; offline: the gateway's
# /v4/int).
ABDM_REGISTRY_URL: str = env.str("ABDM_REGISTRY_URL", default="http://127.0.0.1:8090/v4/int")
# ABHA one-time codes a family may ask ABDM to send (link and create pages), per member and per
# account, each in an hour: ABDM texts the ABHA's mobile, which need not be the account's.
ABHA_OTP_MAX_PER_MEMBER_PER_HOUR = env.int("ABHA_OTP_MAX_PER_MEMBER_PER_HOUR", default=5)
ABHA_OTP_MAX_PER_ACCOUNT_PER_HOUR = env.int("ABHA_OTP_MAX_PER_ACCOUNT_PER_HOUR", default=12)
# Entries per page pushed to a requester's dataPushUrl (each page has its own key pair).
ABDM_PUSH_PAGE_SIZE: int = env.int("ABDM_PUSH_PAGE_SIZE", default=10)
# Tries of one page's push (5xx, timeout, refused connection) before it counts as failed.
ABDM_PUSH_ATTEMPTS: int = env.int("ABDM_PUSH_ATTEMPTS", default=4)

# --- Internationalisation and time ---------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("hi", _("Hindi"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates as Indian pages write them, per language (15 Mar 1984; 15 मार्च 1984).
FORMAT_MODULE_PATH = ["esanjeevani.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
DISPLAY_TIME_ZONE = "Asia/Kolkata"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# In production, hashed names (whitenoise serves them for a year), also in the imports of the
# pages' ES modules (core/staticfiles.py).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "core.staticfiles.ManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# Oversized request bodies are refused before they reach a view.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)
# Uploads (earlier prescriptions, reports) stream to disk past this size; their own limit is
# ATTACHMENT_MAX_BYTES each.
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first, so an unauthenticated call gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.ApiSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    # Throttles must derive from core.api.throttling.ClientAddressThrottle (a test checks it).
    # Sign-in limits are not throttles: accounts/ counts them for pages and API alike.
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_THROTTLE_RATES": {},
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    # Throttles take the client address from core.http (core/api/throttling.py); this is only
    # what DRF's stock get_ident would use.
    "NUM_PROXIES": PROXY_COUNT,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ]

REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=12)),
    "AUTO_REFRESH": False,
    "USER_SERIALIZER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "eSanjeevani teleconsultation API",
    "DESCRIPTION": (
        "Patient sign-in by mobile and one-time code, family profiles, booking and the "
        "waiting room, the doctor's console and prescriptions, dashboards, staff sign-in and "
        "reference data. Sign-ins answer a token: send it as `Authorization: Token <token>`. "
        'Every error has the shape {"error": {"code", "message", "fields"}}, with the '
        "statuses each operation declares. Answers are never stored by caches "
        "(`Cache-Control: no-store`), except the public reference data."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.inline_nullable_references",
    ],
}

# --- Logging: structured, and never personal data --------------------------------------------
LOG_LEVEL: str = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "core.logging.RedactPersonalDataFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}
