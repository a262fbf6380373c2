"""Settings, all overridable from the environment.

Local defaults work on a developer machine where PostgreSQL (trust auth) and Redis run on
localhost; a deployment sets DATABASE_URL, REDIS_URL, SECRET_KEY, DEBUG=0 and ALLOWED_HOSTS.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-change-me-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "leaflet",
    "drf_spectacular_sidecar",
    "axes",
    "channels",
    "accounts",
    "fleet",
    "compliance",
    "complaints",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.navigation",
                "compliance.notifications_context.unread_notifications",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgis://postgres:postgres@127.0.0.1:5432/fleetwatch"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        engine="django.contrib.gis.db.backends.postgis",
    )
}
# Parallel checkouts on one machine can give their test databases distinct names.
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_PREFIX", "fleetwatch"),
    }
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # A member channel (one browser's alert feed) holds 100 messages by default and
        # channels_redis drops a group message beyond that, silently for that browser. A
        # pipeline catching up after an outage publishes its alerts in bursts: the bench's
        # listener lost 30 of 354 at 100. Messages still expire after 60 s.
        "CONFIG": {"hosts": [REDIS_URL], "capacity": 2000},
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): lock a username+IP pair after repeated failures.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (case evidence) are private: stored outside the web root and served only by
# views that check the user's scope. No MEDIA_URL is served anywhere (WhiteNoise serves
# STATIC_ROOT only); MEDIA_ROOT points at the same place so nothing lands in a public folder.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", BASE_DIR / "var" / "private"))
MEDIA_ROOT = PRIVATE_MEDIA_ROOT
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": PRIVATE_MEDIA_ROOT}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Case evidence: refuse larger files (a minute of 720p dashcam video fits in 20 MB).
CASE_EVIDENCE_MAX_BYTES = int(os.environ.get("CASE_EVIDENCE_MAX_BYTES", str(20 * 1024 * 1024)))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fleet regulatory monitoring API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Maps: the base layers are our own vector layers (district boundaries, roads). A deployment that
# has a tile server sets MAP_TILE_URL (e.g. an intranet tile service) and it is added underneath.
MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
MAP_CENTER = (41.12, 122.07)
LEAFLET_CONFIG = {"DEFAULT_CENTER": MAP_CENTER, "DEFAULT_ZOOM": 10, "TILES": []}

# Jurisdiction (territorial principle): a point in a gap or sliver between district polygons
# belongs to the nearest district when it lies within this distance; beyond it, to none (then
# the vehicle's registered district decides).
JURISDICTION_SNAP_METRES = float(os.environ.get("JURISDICTION_SNAP_METRES", "1000"))

# Certificates: expired up to this many days after valid-to, void beyond (RULES.md §2a).
CERTIFICATE_VOID_AFTER_DAYS = int(os.environ.get("CERTIFICATE_VOID_AFTER_DAYS", "180"))

# 查岗: minutes a monitoring desk has to answer a check-post, unless the sender sets another.
CHECKPOST_ANSWER_WITHIN_MINUTES = int(os.environ.get("CHECKPOST_ANSWER_WITHIN_MINUTES", "10"))

# Spreadsheet imports: refuse files larger than this before parsing.
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(20 * 1024 * 1024)))

# GDAL < 3.9 cannot block file/network access in spatial references. We never hand user files to
# GDAL: uploaded GeoJSON is parsed with json + shapely and stored through GEOS.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# Ingest pipeline (Redis Streams sharded by vehicle; one worker owns a shard at a time).
BUS_PREFIX = os.environ.get("BUS_PREFIX", "fleet")
PIPELINE_SHARDS = int(os.environ.get("PIPELINE_SHARDS", "8"))
PIPELINE_BATCH_SIZE = int(os.environ.get("PIPELINE_BATCH_SIZE", "500"))
PIPELINE_LEASE_TTL_MS = int(os.environ.get("PIPELINE_LEASE_TTL_MS", "10000"))
POSITION_RETENTION_DAYS = int(os.environ.get("POSITION_RETENTION_DAYS", "183"))  # ≥ 6 months
# A vehicle whose last report is older than this is shown offline (the offline sweep).
VEHICLE_OFFLINE_AFTER_S = int(os.environ.get("VEHICLE_OFFLINE_AFTER_S", "600"))
POSITION_PARTITIONS_AHEAD_DAYS = int(os.environ.get("POSITION_PARTITIONS_AHEAD_DAYS", "7"))

# Detection (compliance/runtime). Thresholds live in the database (RuleSetting), not here.
RULES_ENABLED = os.environ.get("RULES_ENABLED", "true").lower() in ("1", "true", "yes")
# Registry facts (waybills, certificates, lines, zones) are reloaded this often by each worker.
RULES_FACTS_REFRESH_S = int(os.environ.get("RULES_FACTS_REFRESH_S", "120"))
# Per-vehicle rule state is checkpointed this often; a worker taking over a shard resumes from
# the checkpoint and replays the stored data after it (at most RULES_CATCH_UP_HOURS of it).
RULES_CHECKPOINT_EVERY_S = int(os.environ.get("RULES_CHECKPOINT_EVERY_S", "60"))
RULES_CATCH_UP_HOURS = int(os.environ.get("RULES_CATCH_UP_HOURS", "24"))
# A busy worker writes its findings at most this long after it made them, in one set of
# statements for all its batches since, not with every batch (an idle one writes at once). The
# bus entries behind unwritten findings are acknowledged only once they are written, so a crash
# loses none: the entries are delivered again. 0 writes with every batch.
RULES_WRITE_EVERY_S = float(os.environ.get("RULES_WRITE_EVERY_S", "0.5"))
# Waybills that ended longer ago than this are not loaded into the workers' memory.
RULES_WAYBILL_HORIZON_DAYS = int(os.environ.get("RULES_WAYBILL_HORIZON_DAYS", "14"))
# A replay starts this long before the requested period so clocks (fatigue) are warm.
RULES_REPLAY_WARMUP_HOURS = int(os.environ.get("RULES_REPLAY_WARMUP_HOURS", "24"))
# Spoken warnings are sent only to a terminal heard from within this many seconds.
RULES_TTS_RECENT_S = int(os.environ.get("RULES_TTS_RECENT_S", "120"))

# JT/T 808 gateway (fleet/gateway/config.py lists every GATEWAY_* setting and its default).
GATEWAY_HOST = os.environ.get("GATEWAY_HOST", "0.0.0.0")
GATEWAY_PORT = int(os.environ.get("GATEWAY_PORT", "6808"))
GATEWAY_METRICS_PORT = int(os.environ.get("GATEWAY_METRICS_PORT", "6809"))
GATEWAY_IDLE_TIMEOUT_S = int(os.environ.get("GATEWAY_IDLE_TIMEOUT_S", "180"))
GATEWAY_MAX_AUTH_FAILURES = int(os.environ.get("GATEWAY_MAX_AUTH_FAILURES", "3"))
GATEWAY_MAX_FRAMES_PER_S = int(os.environ.get("GATEWAY_MAX_FRAMES_PER_S", "200"))
# Where decoded records go: the ingest bus (an empty value keeps them in memory, for debugging).
GATEWAY_SINK = os.environ.get("GATEWAY_SINK", "fleet.telemetry.bus.gateway_sink")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "apscheduler": {"level": "WARNING"}},
}

# Monthly assessments (考评, RULES.md §4; compliance.assessment). Assessed vehicle kinds: 两客一危.
ASSESSMENT_KINDS = tuple(
    os.environ.get("ASSESSMENT_KINDS", "coach,hazmat").replace(" ", "").split(","))
# "terminal": a vehicle is connected (入网) when it has an active terminal bound in the registry or
# reported in the month; "reported": when it has reported at least once up to the month's end.
ASSESSMENT_CONNECTED_BY = os.environ.get("ASSESSMENT_CONNECTED_BY", "terminal")
# Drift rate basis: "vehicle_days" (drift vehicle-days ÷ online vehicle-days, the mean of RULES.md
# §3's daily drift-vehicle rate) or "vehicles" (vehicles with any drift day ÷ online vehicles).
ASSESSMENT_DRIFT_BASIS = os.environ.get("ASSESSMENT_DRIFT_BASIS", "vehicle_days")
# A unit that was sent no check-post in the month keeps the KPI's full points (the bureau did not
# test it); False scores it zero.
ASSESSMENT_UNTESTED_CHECKPOST_FULL = os.environ.get(
    "ASSESSMENT_UNTESTED_CHECKPOST_FULL", "true").lower() in ("1", "true", "yes")
# RULES.md §4 weights (points) and floors/ceilings; a bureau may change them without a deploy
# of code, only of settings.
ASSESSMENT_ENTERPRISE_WEIGHTS = {"access": 5, "online": 5, "completeness": 15, "validity": 15,
                                 "drift": 10, "overspeed": 20, "fatigue": 20, "checkpost": 10}
ASSESSMENT_DISTRICT_WEIGHTS = {"access": 5, "online": 10, "drift": 15, "completeness": 40,
                               "validity": 30}
ASSESSMENT_FLOORS = {"access": 0.90, "completeness": 0.70, "validity": 0.80}
ASSESSMENT_DRIFT_CEILING = 0.05
# 动态监督管理办法 art. 35: case handling rate below this is flagged.
ASSESSMENT_HANDLING_FLOOR = 0.90
# Enterprise risk grade: the worst grade any measure reaches (per online vehicle, per month;
# unresolved = the enterprise's open cases). Defaults: "medium" from one counted violation or half
# an hour of driving beyond the fatigue limit per vehicle, or any open case; "high" from three
# violations or two hours beyond the limit per vehicle (a fleet driving over the limit every
# week), or five open cases.
ASSESSMENT_RISK_THRESHOLDS = {
    "high": {"violations_per_vehicle": 3.0, "fatigue_hours_per_vehicle": 2.0,
             "unresolved_cases": 5},
    "medium": {"violations_per_vehicle": 1.0, "fatigue_hours_per_vehicle": 0.5,
               "unresolved_cases": 1},
}
