"""GovGrid settings: one file, driven by environment variables (see README "Configuration")."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from govgrid.env import (
    env_bool,
    env_database,
    env_int,
    env_list,
    env_redis,
    env_str,
    env_time_windows,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "govgrid-development-key-not-for-production"  # noqa: S105

# Off unless asked for: `make run` sets DEBUG=1 for the demo; tests get their values from govgrid/testing.py.
DEBUG = env_bool("DEBUG", False)
# Under DEBUG a 404 still shows the styled page (govgrid.middleware.StyledNotFoundMiddleware); 1 shows
# Django's technical 404 with the URL patterns instead.
DEBUG_TECHNICAL_404 = env_bool("DEBUG_TECHNICAL_404", False)
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random string of at least 50 characters when DEBUG is off "
        "(DEBUG=1 for development on this machine)."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
# Personal data (parties/pii.py): the Fernet key that encrypts ID and phone numbers, retired keys that
# still decrypt (rotation: `manage.py rotate_pii_keys`), and the HMAC key of their lookup hashes.
DEV_PII_KEY = "Z292Z3JpZC1kZXZlbG9wbWVudC1waWkta2V5LTAwMDA="  # base64 of 32 known bytes: development only
DEV_PII_HASH_KEY = "govgrid-development-pii-hash-key"
PII_KEY = env_str("PII_KEY", DEV_PII_KEY)
PII_OLD_KEYS = env_list("PII_OLD_KEYS", [])
PII_HASH_KEY = env_str("PII_HASH_KEY", DEV_PII_HASH_KEY)
if not DEBUG and (PII_KEY == DEV_PII_KEY or PII_HASH_KEY == DEV_PII_HASH_KEY or len(PII_HASH_KEY) < 32):
    raise ImproperlyConfigured(
        "PII_KEY (a Fernet key: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key()"
        ".decode())') and PII_HASH_KEY (a random string of at least 32 characters) must be set when DEBUG is off."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "pgtrigger",
    "pghistory",
    "captcha",  # django-simple-captcha: the public appeal form (cases.pages.public)
    "govgrid",
    "grids",
    "parties",
    "cases",
    "plans",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise (static files come precompressed), above everything that writes a body.
    "govgrid.middleware.TextCompressionMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "govgrid.middleware.ChineseFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "govgrid.input_guard.InputGuardMiddleware",  # after Locale: its refusals speak the user's language
    "django.middleware.common.CommonMiddleware",
    "govgrid.middleware.StyledNotFoundMiddleware",  # the styled 404 under DEBUG too (DEBUG_TECHNICAL_404=1: Django's)
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: records the user and URL of each change to a tracked setting (govgrid.history).
    "pghistory.middleware.HistoryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "govgrid.middleware.OutageMiddleware",
    # Last, as django-axes asks: it turns a lock-out flagged during authenticate() into the 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "govgrid.urls"
WSGI_APPLICATION = "govgrid.wsgi.application"

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
                "govgrid.context.navigation",
                "cases.context.emergency_banner",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/govgrid")}
# A database that does not answer is an outage (503, govgrid.middleware.OutageMiddleware), not a hung worker.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
    "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1))
# No JIT compilation: PostgreSQL's JIT spends ~1 s compiling an aggregate over a few hundred thousand
# rows, more than the query itself (bench/pages.py); a page's queries are short. DATABASE_JIT=1 allows it.
if not env_bool("DATABASE_JIT", False):
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
# Reads that scale out (govgrid.replica): with DATABASE_REPLICA_URL, a streaming replica of the same
# cluster serves the reads of dashboards, reports, exports and case lists; everything else stays on the
# primary. The primary is read instead while the replica is more than REPLICA_MAX_LAG_SECONDS behind or
# does not answer, and for READ_YOUR_WRITES_SECONDS after each change a user makes, for that user.
if env_str("DATABASE_REPLICA_URL", ""):
    _replica = env_database("DATABASE_REPLICA_URL", "")
    # Tests: the replica alias is the test database of default (Django's TEST MIRROR), never created.
    DATABASES["replica"] = {**_replica, "OPTIONS": {**DATABASES["default"]["OPTIONS"], **_replica.get("OPTIONS", {})},
                            "TEST": {"MIRROR": "default"}}
    DATABASE_ROUTERS = ["govgrid.db_router.ReplicaRouter"]
    MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                      "govgrid.replica.ReadYourWritesMiddleware")
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 5, minimum=0)
READ_YOUR_WRITES_SECONDS = env_int("READ_YOUR_WRITES_SECONDS", 10, minimum=0)
# How often each process measures the replica's lag, and how long it leaves a replica alone that did not answer.
REPLICA_CHECK_SECONDS = env_int("REPLICA_CHECK_SECONDS", 1, minimum=0)
REPLICA_RETRY_SECONDS = env_int("REPLICA_RETRY_SECONDS", 5, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: REDIS_URL names the base database n; the cache uses n, the Celery broker n+1 and the results
# n+2, so clearing the cache never empties a queue. Each can be given whole instead (CACHE_URL,
# CELERY_BROKER_URL, CELERY_RESULT_BACKEND).
REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss", "unix"))
CACHE_URL = env_url("CACHE_URL", REDIS_URL, schemes=("redis", "rediss", "unix"))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "govgrid",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# The live channel (govgrid.live): events go into one bounded Redis stream (about LIVE_STREAM_LENGTH
# entries: a screen that was away longer than that reloads its figures) and out through the `live`
# process (uvicorn, govgrid.asgi), which serves /live/stream/ only. Behind a proxy that routes that path
# to it, LIVE_STREAM_URL stays the relative default; when it is another origin (`make run`: the next port),
# the pages name it in their CSP and the stream answers CORS for LIVE_ALLOWED_ORIGINS (the web origins).
LIVE_REDIS_URL = env_url("LIVE_REDIS_URL", CACHE_URL, schemes=("redis", "rediss", "unix"))
LIVE_STREAM_KEY = env_str("LIVE_STREAM_KEY", "govgrid:live")
LIVE_STREAM_LENGTH = env_int("LIVE_STREAM_LENGTH", 10000, minimum=100)
LIVE_STREAM_URL = env_str("LIVE_STREAM_URL", "/live/stream/")
# Or only the port of the live process, on whatever host the page was opened with (`make run`).
LIVE_STREAM_PORT = env_int("LIVE_STREAM_PORT", 0, minimum=0)
LIVE_ALLOWED_ORIGINS = env_list("LIVE_ALLOWED_ORIGINS", [])
# A stream answer ends after this many seconds; the browser reconnects at once with its Last-Event-ID, so
# nothing is missed, and the user's scope (and account) is looked at again.
LIVE_STREAM_SECONDS = env_int("LIVE_STREAM_SECONDS", 300, minimum=5)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, so it can refuse a locked-out username and address before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
# Front-end libraries come from npm (package.json); only their dist folders are served.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/leaflet", NODE_MODULES / "leaflet" / "dist"),
    ("vendor/leaflet.markercluster", NODE_MODULES / "leaflet.markercluster" / "dist"),
    ("vendor/leaflet.vectorgrid", NODE_MODULES / "leaflet.vectorgrid" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
]
# Uploaded photos and generated files (exports, monthly reports): local disk under MEDIA_ROOT, or with
# MEDIA_STORAGE=s3 a private bucket of any S3-compatible store (AWS, MinIO, OSS, COS). Either way a
# photo's url is MEDIA_URL + its name, answered by the scoped view cases.media.case_photo.
MEDIA_STORAGE = env_str("MEDIA_STORAGE", "local")
if MEDIA_STORAGE == "local":
    MEDIA_STORAGE_BACKEND: dict = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif MEDIA_STORAGE == "s3":
    if not env_str("AWS_STORAGE_BUCKET_NAME", ""):
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.")
    # Keys come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or an instance role), read by boto3.
    MEDIA_STORAGE_BACKEND = {"BACKEND": "cases.storage.PrivateS3Storage", "OPTIONS": {
        "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", ""),
        "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
        "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
        "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE", "") or None,  # "path" for most MinIO set-ups
        "location": env_str("AWS_LOCATION", ""),
        "signature_version": env_str("AWS_S3_SIGNATURE_VERSION", "s3v4"),
        # How long the redirect the media view hands out stays valid: long enough to follow it.
        "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 60, minimum=1),
    }}
else:
    raise ImproperlyConfigured(f"MEDIA_STORAGE={MEDIA_STORAGE!r}: use local or s3.")
MAX_UPLOAD_PIXELS = env_int("MAX_UPLOAD_PIXELS", 40_000_000, minimum=1)
# Patrols (cases.actions.patrols): a patrol with no position for this many hours is ended by the sweep.
PATROL_STALE_HOURS = env_int("PATROL_STALE_HOURS", 4, minimum=1)
# How often the phone keeps a position while a patrol page is open, and how often it queues what it kept.
PATROL_POINT_SECONDS = env_int("PATROL_POINT_SECONDS", 15, minimum=1)
PATROL_BATCH_SECONDS = env_int("PATROL_BATCH_SECONDS", 60, minimum=1)
# Work plans (plans.lights): a task lagging its schedule by this many points is yellow, or red.
PLAN_LIGHT_YELLOW = env_int("PLAN_LIGHT_YELLOW", 10, minimum=1)
PLAN_LIGHT_RED = env_int("PLAN_LIGHT_RED", 25, minimum=1)
# plans.tasks.remind_plan_tasks: the lead unit is reminded of a task due within this many days.
PLAN_REMIND_DAYS = env_int("PLAN_REMIND_DAYS", 7, minimum=1)
# Report counters (reports.rollup): days are kept one by one for at least this many days (from the
# first of that month); older ones are folded nightly into monthly rows. 100 keeps every quick range of
# the dashboards and its previous period in days.
COUNTER_DAILY_RETENTION_DAYS = env_int("COUNTER_DAILY_RETENTION_DAYS", 100, minimum=62)
STORAGES = {
    "default": MEDIA_STORAGE_BACKEND,
    # Hashed names need `collectstatic` first: production only, so tests and development run without it.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "media/"  # govgrid/urls.py routes media/cases/... to the scoped view: keep them together
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# Security: secure cookies and HSTS whenever DEBUG is off (production behind TLS).
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "govgrid.views.csrf_failure"

# The client's address. Behind a load balancer REMOTE_ADDR is the balancer's; then set CLIENT_IP_HEADER
# to the header it writes (e.g. X-Forwarded-For) and PROXY_COUNT to the number of our proxies in front.
# Unset, no header is trusted (govgrid.security.client_ip).
CLIENT_IP_HEADER = env_str("CLIENT_IP_HEADER", "").strip().upper().replace("-", "_")
if CLIENT_IP_HEADER and CLIENT_IP_HEADER != "REMOTE_ADDR" and not CLIENT_IP_HEADER.startswith("HTTP_"):
    CLIENT_IP_HEADER = "HTTP_" + CLIENT_IP_HEADER
PROXY_COUNT = env_int("PROXY_COUNT", 1, minimum=1)

# Disputes (cases.disputes.assess_risk): the risk rises to high from this many people involved or
# petitions, and the follow-ups on an agreement fall due these many days after it is signed.
DISPUTE_RISK_PEOPLE = env_int("DISPUTE_RISK_PEOPLE", 10, minimum=2)
DISPUTE_RISK_PETITIONS = env_int("DISPUTE_RISK_PETITIONS", 2, minimum=1)
DISPUTE_FOLLOW_UP_DAYS = (7, 30)

# Login lock-out (django-axes) on every login, /admin/login/ included: ten failures for one username from
# one address, then that pair waits 15 minutes. Another address, or another user, is not held up.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "govgrid.security.client_ip"
AXES_LOCKOUT_CALLABLE = "govgrid.security.lockout_response"
AXES_VERBOSE = False

# Content Security Policy (django-csp): scripts and style sheets only from our own origin, no inline
# <script>, <style> or on* handlers. Style *attributes* are allowed: ECharts tooltips and Leaflet build
# HTML strings with them, and a style attribute cannot run script.
# Base map tiles: a Leaflet URL template ({z}/{x}/{y}, {s} for a subdomain, {key} or {tk} for
# MAP_TILE_KEY), none by default: the maps then draw the city, district and town outlines themselves.
# 天地图's web Mercator layers (…/vec_w/…, CGCS2000 ≈ WGS 84) line up with our WGS 84 boundaries with
# no offset; GCJ-02 tiles (高德, 腾讯) would sit ~500 m off and are not supported.
MAP_TILE_URL = env_str("MAP_TILE_URL", "")
MAP_TILE_KEY = env_str("MAP_TILE_KEY", "")
MAP_TILE_SUBDOMAINS = env_str("MAP_TILE_SUBDOMAINS", "abc")
MAP_TILE_ATTRIBUTION = env_str("MAP_TILE_ATTRIBUTION", "")
# The CSP names the tile host; a subdomain placeholder ("t{s}.tianditu.gov.cn") becomes "*.tianditu.gov.cn".
_tiles = urlparse(MAP_TILE_URL)
_tile_host = re.sub(r"^[^.]*\{s\}[^.]*\.", "*.", _tiles.netloc)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:", *([f"{_tiles.scheme}://{_tile_host}"] if _tiles.netloc else [])],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "report-uri": "/csp-report/",
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "govgrid.api.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "govgrid.api.exception_handler",
    # Size, depth and text limits on every body (govgrid.parsers); the negotiation class also hardens a
    # view that still names DRF's stock parsers.
    "DEFAULT_PARSER_CLASSES": ["govgrid.parsers.SafeJSONParser", "govgrid.parsers.StrictMultiPartParser",
                               "govgrid.parsers.SafeFormParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "govgrid.parsers.SafeContentNegotiation",
}
# The largest API request body: JSON and plain forms, and multipart bodies that carry photos (a view
# can narrow either per action: govgrid.parsers.body_limit). Larger bodies answer 413.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
API_MAX_UPLOAD_BYTES = env_int("API_MAX_UPLOAD_BYTES", 40 * 1024 * 1024, minimum=1024)
# DRF reads a JSON or form body whole (request.body) before any parser sees it, so Django's own cap is
# the first line for those: the same figure. (For multipart it counts the fields, not the files.)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
SPECTACULAR_SETTINGS = {
    "TITLE": "GovGrid API",
    "DESCRIPTION": "网格化社会治理 — grid finds, centre collects, dispatch, deadline.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AreaLevelEnum": "grids.choices.Level",
        "CaseStatusEnum": "cases.choices.Status",
        "DispatchStatusEnum": "cases.choices.DispatchStatus",
        "SupervisionLevelEnum": "cases.choices.Supervision",
        "TimeUnitEnum": "govgrid.workcalendar.TimeUnit",
        "OrganisationKindEnum": "parties.choices.OrganisationKind",
        "HouseholdKindEnum": "parties.choices.HouseholdKind",
        "BuildingRoleKindEnum": "parties.choices.BuildingRoleKind",
        "PatrolStatusEnum": "cases.patrols.PatrolStatus",
        "EmergencyLevelEnum": "cases.choices.EmergencyLevel",
        "CaseStageEnum": "cases.choices.Stage",
        "DisputeStageEnum": "cases.disputes.DisputeStage",
        "DisputeRiskLevelEnum": "cases.disputes.RiskLevel",
        "DisputePartyRoleEnum": "cases.disputes.PartyRole",
        "DisputeVisitKindEnum": "cases.disputes.VisitKind",
        "PartyOrganisationKindEnum": "parties.choices.PartyOrganisationKind",
        "NegativeEventKindEnum": "plans.choices.NegativeKind",
        "PlanTaskStatusEnum": "plans.choices.TaskStatus",
        "PlanLightEnum": "plans.choices.Light",
    },
    # Requests and answers get components of their own: a file is sent as binary and answered as a URL,
    # and read-only fields are no part of a request.
    "COMPONENT_SPLIT_REQUEST": True,
    # The error answers every operation can give and the no-NUL rule on text (govgrid/openapi.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "govgrid.openapi.add_error_responses"],
}

# Celery: Redis is both broker and result store (databases of their own). Tasks ack late so a killed
# worker loses nothing.
CELERY_BROKER_URL = env_redis("CELERY_BROKER_URL", REDIS_URL, "REDIS_URL", 1, schemes=("redis", "rediss", "amqp"))
CELERY_RESULT_BACKEND = env_redis("CELERY_RESULT_BACKEND", REDIS_URL, "REDIS_URL", 2, schemes=("redis", "rediss"))
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_MAX_TASKS_PER_CHILD = 1000
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers a message not acknowledged within the visibility timeout: that is how the tasks of
# a killed worker (acks late) run again, so it is short, and every task is stopped before it (the hard
# time limit below; retries wait at most 300 s, cases.tasks.RETRY). Triage and notifications do not
# wait for it: their reconcile jobs (every minute) make up for a dead worker sooner.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600, "socket_connect_timeout": 2}
CELERY_TASK_TIME_LIMIT = 540
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# The work calendar (DESIGN.md §5): working-hour windows, local time.
WORK_HOURS = env_time_windows("WORK_HOURS", "08:30-12:00,14:00-18:00")

# Map tiles: none by default so pages work with no internet (MAP_TILE_URL, read above for the CSP).
# The case map (cases/map/) switches to vector tiles (govgrid.tiles) when the user's scope holds more open
# cases, or grids, than these; below them it loads GeoJSON once. Tiles of clustered cases (below zoom 15)
# may be served this many seconds after they were built, however many cases changed meanwhile; up to
# zoom 13 they add up the map summary (cases.tiles), itself up to 30 s old (beat).
MAP_TILES_FROM_CASES = env_int("MAP_TILES_FROM_CASES", 2000, minimum=0)
MAP_TILES_FROM_GRIDS = env_int("MAP_TILES_FROM_GRIDS", 1000, minimum=0)
MAP_TILES_STALE_SECONDS = env_int("MAP_TILES_STALE_SECONDS", 30, minimum=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # pgtrigger logs each of the history's triggers at INFO every time migrate (re)installs them.
    "loggers": {"pgtrigger": {"level": "WARNING"}},
}

# Configuration history (govgrid.history): the event models all live in govgrid, and their triggers sit on
# other apps' tables, so the triggers stay out of migrations and `migrate` installs them afterwards.
PGTRIGGER_MIGRATIONS = False
PGTRIGGER_INSTALL_ON_MIGRATE = True
# Only requests that may change something carry the user into the database (a few bytes per statement).
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Event columns keep the type only; labels, choices and validators are read from the tracked model.
PGHISTORY_EXCLUDE_FIELD_KWARGS = {
    "django.db.models.Field": [
        "verbose_name", "help_text", "choices", "validators", "error_messages", "default", "blank", "editable",
        "db_comment",
    ],
}

# Emergency mode (cases.emergency): the share of each normal limit a stage gets at each response level,
# on natural time (I is the most severe). EMERGENCY_LEVEL_FACTORS="0.25,0.5,0.75,1" sets all four.
_factors = env_list("EMERGENCY_LEVEL_FACTORS", ["0.25", "0.5", "0.75", "1.0"])
if len(_factors) != 4 or not all(re.fullmatch(r"(0?\.\d+|1(\.0*)?)", f) and float(f) > 0 for f in _factors):
    raise ImproperlyConfigured("EMERGENCY_LEVEL_FACTORS: four numbers above 0 and at most 1, for levels I to IV.")
EMERGENCY_LEVEL_FACTORS = {level: factor for level, factor in zip((1, 2, 3, 4), _factors, strict=True)}
# Notices besides in-app (govgrid.messaging): "email", "sms" or dotted paths of channel classes; off by
# default. SMS needs SMS_GATEWAY (a gateway class); NOTIFY_PHONE_LOOKUP finds a user's mobile number.
NOTIFY_CHANNELS = env_list("NOTIFY_CHANNELS", ["inapp"])
SMS_GATEWAY = env_str("SMS_GATEWAY", "")
NOTIFY_PHONE_LOOKUP = env_str("NOTIFY_PHONE_LOOKUP", "")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "govgrid@localhost")

# Debian bookworm ships GDAL 3.6; boundaries come from our own generator or from admins' GeoJSON
# imports (parsed as GeoJSON, never as arbitrary GDAL datasources), so the 3.9 sandboxing is not needed.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# The public appeal form's CAPTCHA (django-simple-captcha): letters, drawn here, no third-party service.
CAPTCHA_LENGTH = 4
CAPTCHA_TIMEOUT = 10  # minutes
