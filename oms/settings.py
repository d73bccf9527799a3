"""Settings for the OMS, read from environment variables.

The embedded default needs nothing: SQLite in ``db.sqlite3``, Celery tasks run in-process, e-mails
to the console. Production sets ``DEBUG=0``, ``SECRET_KEY``, ``ALLOWED_HOSTS``, ``DATABASE_URL``
(PostgreSQL) and ``REDIS_URL``; it refuses to start without a real secret key.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and (
    not SECRET_KEY
    or SECRET_KEY == _DEV_SECRET_KEY
    or SECRET_KEY.startswith("django-insecure")
    or len(SECRET_KEY) < 50
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random string of at least 50 characters when DEBUG is off."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_countries",
    "phonenumber_field",
    "inventory",
    "purchasing",
    "orders",
    "fulfillment",
    "returns",
    # Edges above the domain apps (pyproject.toml [tool.importlinter] has the layers).
    "notifications",
    "accounts",
    "reports",
    "dataio",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "oms.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

WSGI_APPLICATION = "oms.wsgi.application"

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: the app's queries are short, and on the dashboard's aggregates over a
    # million orders compiling cost 50-175 ms more than it saved (docs/benchmarks.md).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    if env_bool("DB_PREPARED_STATEMENTS", True):
        # Parameters bound by the server, and a statement run twice on a connection is prepared
        # (psycopg keeps the 100 most used): PostgreSQL parses and plans it once. Placement:
        # PostgreSQL CPU per order 4.5-4.9 -> 2.8-3.4 ms (docs/benchmarks.md). Set
        # DB_PREPARED_STATEMENTS=0 behind a connection pooler that cannot keep prepared
        # statements (PgBouncer in transaction mode before 1.21).
        DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=2)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has no SELECT ... FOR UPDATE: every transaction takes the write lock when it starts
    # (IMMEDIATE), so two writers are serialised instead of failing half-way; WAL lets readers
    # go on.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True
# Phone numbers (django-phonenumber-field) are stored as E.164 and shown in the international
# format, "+44 20 7946 0000", in the API, the pages and the e-mails. A number typed without a
# country prefix is read with the address's country (core/contact.py).
PHONENUMBER_DEFAULT_FORMAT = "INTERNATIONAL"
# Countries (codes and names) come from django-countries; Kosovo's user-assigned code is added,
# as the centroid table (core/data/country_centroids.csv) and so the API always accepted it.
COUNTRIES_OVERRIDE = {"XK": "Kosovo"}

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# A mail server that accepts the connection but never answers must not hold a worker: the
# send fails after this many seconds and the outbox retries it later.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "orders@example.com")

# --- Celery ---------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "orders.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON in and out, errors too, each with a "code" (core/api/errors.py).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    # Fails open when its cache (Redis) is down; counters are atomic (core/api/throttling.py).
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.ApiRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "partner": os.environ.get("OMS_API_THROTTLE_RATE", "600/min"),
        "staff": os.environ.get("OMS_API_STAFF_THROTTLE_RATE", "3000/min"),
        "anon": os.environ.get("OMS_API_ANON_THROTTLE_RATE", "60/min"),
    },
    # How many proxies of ours stand in front of the app: the client address is the one the
    # outermost of them saw, read from the right of X-Forwarded-For. 0 = the peer address
    # (REMOTE_ADDR); X-Forwarded-For is then ignored, as any client can write it.
    "NUM_PROXIES": int(os.environ.get("OMS_TRUSTED_PROXIES", "0")),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OMS API",
    "DESCRIPTION": (
        "Partner and staff REST API of the order management system.\n\n"
        "Every 4xx body carries a stable lower-case `code` next to its messages: `invalid` "
        "(400, the body names each field), `parse_error` (400), `not_authenticated` and "
        "`authentication_failed` (401), `permission_denied` (403), `not_found` (404), "
        "`method_not_allowed` (405), `not_acceptable` (406), `not_allowed_now` (409, with "
        "`status`), `duplicate` (409, with `order` when known), `insufficient_stock` (409), "
        "`gone` (410), `too_large` (413), `unsupported_media_type` (415), `throttled` (429). "
        "A body whose field named `code` is invalid (a warehouse's) keeps that field's "
        "messages under `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Business settings ----------------------------------------------------------------------
OMS_COMPANY_NAME = os.environ.get("OMS_COMPANY_NAME", "Example Goods Ltd")
OMS_SUPPORT_EMAIL = os.environ.get("OMS_SUPPORT_EMAIL", "support@example.com")
# The site's public address: every link in an e-mail is built from it (no trailing slash).
OMS_SITE_URL = os.environ.get("OMS_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
OMS_DEFAULT_CURRENCY = os.environ.get("OMS_DEFAULT_CURRENCY", "EUR")
# Working days between confirmation and handing the parcel to the carrier.
OMS_HANDLING_DAYS = int(os.environ.get("OMS_HANDLING_DAYS", "1"))
# Transit days used for the estimate before a carrier service is chosen.
OMS_TRANSIT_DAYS_DOMESTIC = int(os.environ.get("OMS_TRANSIT_DAYS_DOMESTIC", "2"))
OMS_TRANSIT_DAYS_INTERNATIONAL = int(os.environ.get("OMS_TRANSIT_DAYS_INTERNATIONAL", "5"))
# Days added to the estimate while a line waits for stock.
OMS_BACKORDER_DAYS = int(os.environ.get("OMS_BACKORDER_DAYS", "7"))
# Replenishment (purchasing/replenishment.py): demand over the last N days; safety stock in days
# of demand on top of the lead time.
OMS_REPLENISHMENT_DEMAND_DAYS = int(os.environ.get("OMS_REPLENISHMENT_DEMAND_DAYS", "28"))
OMS_REPLENISHMENT_SAFETY_DAYS = int(os.environ.get("OMS_REPLENISHMENT_SAFETY_DAYS", "7"))

# --- Production hardening -------------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"concise_client_errors": {"()": "oms.log_filters.ConciseClientErrors"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler (DEBUG) would print every line a second time, after the
        # root's: "django" logs through the root only.
        "django": {"handlers": [], "level": "INFO"},
        # A 403 or 404 is one warning line, never a traceback.
        "django.request": {"filters": ["concise_client_errors"]},
        # Tasks run in-process when REDIS_URL is unset: their "succeeded" lines would drown the
        # server's log. A real worker keeps its own task log.
        **({} if REDIS_URL else {"celery.app.trace": {"level": "WARNING"}}),
    },
}

# Idempotency keys of order placement are kept this long.
OMS_IDEMPOTENCY_TTL_HOURS = int(os.environ.get("OMS_IDEMPOTENCY_TTL_HOURS", "24"))

# --- Notifications: outbox, Celery beat, webhooks (notifications/) ---------------------
# Staff alerts (low stock, late orders, messages that failed for good) go here; empty = none.
OMS_STAFF_ALERT_EMAIL = os.environ.get("OMS_STAFF_ALERT_EMAIL", "ops@example.com")
# A message is given up (status failed, staff alerted) after this many attempts; between them
# the wait doubles from OMS_OUTBOX_BACKOFF_SECONDS up to OMS_OUTBOX_BACKOFF_MAX_SECONDS.
OMS_OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OMS_OUTBOX_MAX_ATTEMPTS", "8"))
OMS_OUTBOX_BACKOFF_SECONDS = int(os.environ.get("OMS_OUTBOX_BACKOFF_SECONDS", "60"))
OMS_OUTBOX_BACKOFF_MAX_SECONDS = int(os.environ.get("OMS_OUTBOX_BACKOFF_MAX_SECONDS", "21600"))
# A message claimed for sending longer ago than this is "in doubt" (the worker died mid-send).
OMS_OUTBOX_CLAIM_TIMEOUT_MINUTES = int(os.environ.get("OMS_OUTBOX_CLAIM_TIMEOUT_MINUTES", "10"))
OMS_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("OMS_WEBHOOK_TIMEOUT_SECONDS", "10"))
# Partner webhooks (notifications/webhook_http.py): redirects are never followed, and hosts
# that resolve to loopback, private, link-local or other non-public addresses are refused,
# except the host names listed here (comma-separated, e.g. an ERP on the premises).
OMS_WEBHOOK_ALLOWED_HOSTS = env_list("OMS_WEBHOOK_ALLOWED_HOSTS")
# https:// only; unset follows DEBUG (plain http is accepted only when DEBUG is on).
OMS_WEBHOOK_REQUIRE_HTTPS = (
    env_bool("OMS_WEBHOOK_REQUIRE_HTTPS", True)
    if os.environ.get("OMS_WEBHOOK_REQUIRE_HTTPS")
    else None
)
# A send task claims, renders and records its messages as one batch: the messages of one
# transaction, topped up with other pending e-mails up to this many when the worker fell behind.
OMS_OUTBOX_BATCH_SIZE = int(os.environ.get("OMS_OUTBOX_BATCH_SIZE", "50"))
# ... but only when its own messages waited longer than this (the worker is behind): a worker
# that keeps up sends each task's own messages, and no task finds its work already done.
OMS_OUTBOX_CATCH_UP_AFTER_SECONDS = float(os.environ.get("OMS_OUTBOX_CATCH_UP_AFTER_SECONDS", "2"))
# Celery queue of the send tasks (empty = the default queue).
OMS_OUTBOX_QUEUE = os.environ.get("OMS_OUTBOX_QUEUE", "")
if os.environ.get("EMAIL_FILE_PATH"):  # for EMAIL_BACKEND=django.core.mail.backends.filebased...
    EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]
# Enqueuing after commit must not hang a request when Redis is down: give up quickly (the
# outbox row is already written and the sweeper sends it later).
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "notifications.outbox_sweep", "schedule": 60.0},
    "late-orders": {"task": "orders.late_orders", "schedule": 3600.0},
    "low-stock": {"task": "notifications.low_stock", "schedule": 3600.0},
    "backorders-sweep": {"task": "orders.backorders_sweep", "schedule": 300.0},
    "idempotency-cleanup": {"task": "orders.idempotency_cleanup", "schedule": 86400.0},
    "expected-dates-passed": {"task": "orders.expected_dates_passed", "schedule": 3600.0},
}

# --- REST API (core/api/, oms/api_urls.py) ----------------------------------------------------
# Swagger UI assets are served from the drf-spectacular-sidecar package (no CDN needed).
INSTALLED_APPS += ["drf_spectacular_sidecar"]
SPECTACULAR_SETTINGS.update(
    {
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
        "COMPONENT_SPLIT_REQUEST": True,
        "ENUM_NAME_OVERRIDES": {
            "OrderStatusEnum": "orders.models.OrderStatus",
            "PurchaseOrderStatusEnum": "purchasing.models.PurchaseOrderStatus",
            "TransferStatusEnum": "purchasing.models.TransferStatus",
        },
    }
)
# API throttling counts requests in the cache: with several processes it must be shared.
if REDIS_URL and "CACHES" not in globals():
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Give up quickly when Redis is down: the throttle then lets requests through
            # (core/api/throttling.py) instead of holding each one for seconds.
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 1.0,
            },
        }
    }

# --- Fulfillment (carrier webhook, delivery feedback) ----------------------------------------
# Shared secret carriers send in the X-Carrier-Secret header of POST /fulfillment/tracking/;
# empty = the endpoint refuses every call.
OMS_CARRIER_WEBHOOK_SECRET = os.environ.get("OMS_CARRIER_WEBHOOK_SECRET", "")
# Days a signed delivery-feedback link stays valid.
OMS_FEEDBACK_LINK_DAYS = int(os.environ.get("OMS_FEEDBACK_LINK_DAYS", "30"))
# Days the tracking link of a customer e-mail stays valid, from the e-mail (each e-mail signs a
# fresh one). An older link answers 410 "expired".
OMS_TRACKING_LINK_DAYS = int(os.environ.get("OMS_TRACKING_LINK_DAYS", "90"))
# Length, width and height (cm) recorded for a parcel when the packer gives none.
OMS_DEFAULT_PARCEL_CM = (30, 20, 10)

# --- Login protection (django-axes; docs/security.md) --------------------------------------------
# Back-office and admin logins: after OMS_LOGIN_FAILURE_LIMIT wrong passwords for one user name
# from one address, that pair is locked for OMS_LOGIN_COOLOFF_MINUTES (each further try restarts
# the wait); managers unlock earlier in the admin (Axes > Access attempts: delete the row). The
# address is the one the API throttle uses (core.api.throttling.client_ip, OMS_TRUSTED_PROXIES).
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes asks
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out logins; needs the request
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("OMS_LOGIN_FAILURE_LIMIT", "5"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = int(os.environ.get("OMS_LOGIN_COOLOFF_MINUTES", "30")) / 60  # hours (float)
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.api.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"  # the site's login page with a message
# No "AXES: BEGIN version ..." banner on every command and process start.
AXES_VERBOSE = False

# --- Imports (dataio/imports) ----------------------------------------------------------------
# Largest file the import pages and commands accept; the defaults are well above any export
# (200,000 products is about 13 MB of CSV), so an exported file always imports back.
OMS_IMPORT_MAX_ROWS = int(os.environ.get("OMS_IMPORT_MAX_ROWS", "200000"))
OMS_IMPORT_MAX_BYTES = int(os.environ.get("OMS_IMPORT_MAX_BYTES", str(25 * 1024 * 1024)))

# --- Hostile input (core/text.py, core/api/parsers.py, core/middleware.py) -----------------------
# NUL / invalid text in paths, query strings and form bodies, and bodies over
# DATA_UPLOAD_MAX_MEMORY_SIZE (Django's default, 2.5 MB), are refused before any view runs;
# JSON bodies are checked by the API's parser (depth, NUL, surrogates, numbers beyond 64 bits).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "core.middleware.HostileInputMiddleware",
)
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["core.api.parsers.JSONParser"]
