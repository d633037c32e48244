"""HealthHub settings: one env-driven file.

Every value comes from the environment (see `.env.example` for the full list with a
one-line comment each). Nothing here is production-only: behaviour is switched by env.

Two runtime modes:
- embedded (default, `make run`): SQLite and kombu's filesystem broker, no servers needed;
- production: `DATABASE_URL` (PostgreSQL) and `REDIS_URL` (Redis) set.
"""

from pathlib import Path

import environ
import structlog
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from core.logging import redact_sensitive

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# An optional `.env` file (created by `make run` with generated secrets). Real environment
# variables always win over it. ENV_FILE="" disables it (the test suite does this).
ENV_FILE = env.str("ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    environ.Env.read_env(ENV_FILE, overwrite=False)

# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required whenever DEBUG is off.")
    SECRET_KEY = "insecure-dev-only-key-never-used-with-debug-off-0123456789abcdef"  # noqa: S105 (DEBUG only)
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Where the app lives for links in emails and OAuth callbacks (no trailing slash).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# Embedded-mode state (SQLite file, broker folders, uploads) lives under DATA_DIR.
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / ".data")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # third party
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.socialaccount",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_structlog",
    # ours
    "core",
    "accounts",
    "sources",
    # allauth providers for connecting (never signing in with) Oura, WHOOP and Withings.
    "sources.oauth.oura",
    "sources.oauth.whoop",
    "sources.oauth.withings",
    "metrics",
    "preferences",
    "imports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "core.middleware.RequestIdHeaderMiddleware",
    "core.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
]

ROOT_URLCONF = "healthhub.urls"
WSGI_APPLICATION = "healthhub.wsgi.application"
ASGI_APPLICATION = "healthhub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
# Embedded default: SQLite under DATA_DIR. Production: DATABASE_URL=postgres://...
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'healthhub.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat share one file: wait for locks instead of failing, take the
    # write lock up front, and let readers proceed while a writer works (WAL).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", default=5
    )
    # Output formats the raw-series SQL relies on (ISO dates, shortest exact floats),
    # whatever the server's defaults; no JIT (compiling costs more than it saves here).
    DATABASES["default"]["OPTIONS"]["options"] = (
        "-c DateStyle=ISO,YMD -c extra_float_digits=1 -c jit=off"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMBEDDED = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"

# --- Cache, broker ----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # Rate limits and throttles. Point CACHE_REDIS_URL at another Redis database to
            # keep them apart from the broker's keys (they are prefixed either way).
            "LOCATION": env.str("CACHE_REDIS_URL", default=REDIS_URL),
            "KEY_PREFIX": "hh",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# --- Auth, accounts, sessions -----------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
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
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "account_login"

# Public signup: a self-hosted hub often has one owner; set SIGNUP_OPEN=false after
# creating your account.
SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=True)
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[HealthHub] "
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
# allauth's limits (they need a shared cache: Redis, or the file cache when embedded).
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "reauthenticate": "10/m/user",
    "confirm_email": "1/3m/key",
}
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
# WebAuthn needs a secure origin; http://localhost is allowed only while DEBUG.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
MFA_TOTP_ISSUER = "HealthHub"
MFA_RECOVERY_CODE_COUNT = 10
USERSESSIONS_TRACK_ACTIVITY = True

# Idle timeout: a session ends after SESSION_IDLE_SECONDS without a request.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=12 * 3600)
SESSION_SAVE_EVERY_REQUEST = True

# Personal access tokens and the API.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.PersonalAccessTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.TokenScopeAllows",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_THROTTLE_USER", default="1200/hour"),
        "anon": env.str("API_THROTTLE_ANON", default="60/hour"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )
SPECTACULAR_SETTINGS = {
    "TITLE": "HealthHub API",
    "DESCRIPTION": (
        "Your unified health data. Authenticate with a personal access token "
        "(`Authorization: Bearer hh_...`) created on the Account page, or with the "
        "browser session. Errors share one format: "
        '`{"error": {"code", "message", "details", "request_id"}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

# --- Secrets at rest --------------------------------------------------------------------
# Fernet keys (comma-separated, newest first) that encrypt provider tokens and TOTP seeds.
# Independent of SECRET_KEY. Generate one with `make secrets` (or see .env.example).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS and not DEBUG:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS is required whenever DEBUG is off (fail closed)."
    )

# --- Email ------------------------------------------------------------------------------
# Console in development; SMTP from EMAIL_URL (smtp+tls://user:pass@host:587) otherwise.
EMAIL_URL = env.str("EMAIL_URL", default="consolemail://")
_email = env.email_url_config(EMAIL_URL)
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {
            option: _email[key]
            for option, key in (
                ("host", "EMAIL_HOST"),
                ("port", "EMAIL_PORT"),
                ("username", "EMAIL_HOST_USER"),
                ("password", "EMAIL_HOST_PASSWORD"),
                ("use_tls", "EMAIL_USE_TLS"),
                ("use_ssl", "EMAIL_USE_SSL"),
            )
            if _email.get(key) not in (None, "")
        }
        if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
        else {},
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="HealthHub <healthhub@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
WHITENOISE_USE_FINDERS = DEBUG or env.bool("WHITENOISE_USE_FINDERS", default=False)

# --- Security headers -------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    # allauth hides a few forms with style="display: none"; attributes only, never <style>.
    "style-src-attr": [CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
# Upload safety: anything above this streams to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_HANDLERS = ["imports.uploads.CappedTemporaryFileUploadHandler"]
# Largest accepted uploads: an export.zip, and a bare export.xml.
IMPORT_MAX_ZIP_BYTES = env.int("IMPORT_MAX_ZIP_BYTES", default=2 * 1024**3)
IMPORT_MAX_XML_BYTES = env.int("IMPORT_MAX_XML_BYTES", default=8 * 1024**3)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Providers (OAuth connections and the sync engine) --------------------------------
# Every URL is a setting so tests and sandboxes can point elsewhere; a provider without a
# client id and secret is not offered.
_PROVIDER_DEFAULTS = {
    "oura": {
        "AUTHORIZE_URL": "https://cloud.ouraring.com/oauth/authorize",
        "TOKEN_URL": "https://api.ouraring.com/oauth/token",
        "REVOKE_URL": "https://api.ouraring.com/oauth/revoke",
        "API_BASE": "https://api.ouraring.com",
    },
    "whoop": {
        "AUTHORIZE_URL": "https://api.prod.whoop.com/oauth/oauth2/auth",
        "TOKEN_URL": "https://api.prod.whoop.com/oauth/oauth2/token",
        "REVOKE_URL": "https://api.prod.whoop.com/developer/v2/user/access",
        "API_BASE": "https://api.prod.whoop.com/developer",
    },
    "withings": {
        "AUTHORIZE_URL": "https://account.withings.com/oauth2_user/authorize2",
        "TOKEN_URL": "https://wbsapi.withings.net/v2/oauth2",
        "REVOKE_URL": "https://wbsapi.withings.net/v2/oauth2",
        "API_BASE": "https://wbsapi.withings.net",
    },
}
HEALTHHUB_PROVIDERS = {
    slug: {
        "CLIENT_ID": env.str(f"{slug.upper()}_CLIENT_ID", default=""),
        "CLIENT_SECRET": env.str(f"{slug.upper()}_CLIENT_SECRET", default=""),
        **{key: env.str(f"{slug.upper()}_{key}", default=url) for key, url in urls.items()},
    }
    for slug, urls in _PROVIDER_DEFAULTS.items()
}
# OAuth connect (sources/oauth): allauth runs the dance; the adapter turns a signed-in
# user's connect into our encrypted Connection and refuses everything else. Apps come from
# HEALTHHUB_PROVIDERS (the adapter's list_apps), not SocialApp rows or SOCIALACCOUNT_PROVIDERS.
# The redirect URI to register at each provider is SITE_URL + /accounts/<slug>/login/callback/.
SOCIALACCOUNT_ADAPTER = "sources.oauth.adapter.SocialAccountAdapter"
SOCIALACCOUNT_STORE_TOKENS = False  # tokens live encrypted on sources.Connection only
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_QUERY_EMAIL = False
SOCIALACCOUNT_LOGIN_ON_GET = False  # the connect starts with a POST (CSRF-protected)
SOCIALACCOUNT_PROVIDERS: dict = {}
# Oura echoes this back when it verifies a webhook subscription (our own secret).
HEALTHHUB_PROVIDERS["oura"]["WEBHOOK_VERIFICATION_TOKEN"] = env.str(
    "OURA_WEBHOOK_VERIFICATION_TOKEN", default=""
)
# Minutes between scheduled syncs of a connection (webhooks bring changes sooner).
SYNC_INTERVAL_MINUTES = env.int("SYNC_INTERVAL_MINUTES", default=60)
# How far back the first sync reaches (days; capped by what each provider allows).
SYNC_BACKFILL_DAYS = env.int("SYNC_BACKFILL_DAYS", default=730)
# Days of raw provider payloads kept so normalization can be replayed after a fix (0: none).
SYNC_RAW_PAYLOAD_DAYS = env.int("SYNC_RAW_PAYLOAD_DAYS", default=7)
# Attempts for a provider's 5xx or timeout before the run is marked failed.
SYNC_MAX_RETRIES = env.int("SYNC_MAX_RETRIES", default=4)

# --- Celery -----------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than the longest task (multi-GB imports) so Redis never redelivers a task
        # that is still running; long waits are parked in the database, not as countdowns.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=6 * 3600),
    }
else:
    # Embedded: kombu's filesystem transport, no server needed.
    _broker_dir = DATA_DIR / "broker"
    for _folder in ("queue", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "core.tasks.clear_expired_sessions_task",
        "schedule": 6 * 3600,
    },
    "recover-imports": {"task": "imports.tasks.recover_imports_task", "schedule": 60},
    # The database decides which connections are due; this only asks every minute.
    "dispatch-syncs": {"task": "sources.tasks.syncs_dispatch_task", "schedule": 60},
    "sync-housekeeping": {"task": "sources.tasks.sync_housekeeping_task", "schedule": 15 * 60},
    "renew-webhook-subscriptions": {
        "task": "sources.tasks.subscriptions_renew_task",
        "schedule": 12 * 3600,
    },
}
# How often a worker writes its heartbeat, and how old it may be before /readyz fails.
WORKER_HEARTBEAT_SECONDS = env.int("WORKER_HEARTBEAT_SECONDS", default=15)
WORKER_HEARTBEAT_MAX_AGE = env.int("WORKER_HEARTBEAT_MAX_AGE", default=90)

# --- Logging: one JSON object per line, with the request id --------------------------
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = True
# Keep an X-Request-ID set by your reverse proxy instead of minting one (off: clients
# could otherwise choose ids that collide with other requests' in the logs).
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = env.bool("TRUST_UPSTREAM_REQUEST_ID", default=False)
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")  # json | console

structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.filter_by_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.processors.UnicodeDecoder(),
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    cache_logger_on_first_use=True,
)
_pre_chain = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.stdlib.ExtraAdder(),
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                redact_sensitive,
                structlog.processors.JSONRenderer(sort_keys=False),
            ],
            "foreign_pre_chain": _pre_chain,
        },
        "console": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                redact_sensitive,
                structlog.dev.ConsoleRenderer(colors=False),
            ],
            "foreign_pre_chain": _pre_chain,
        },
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": "INFO"},
    },
}
