"""One settings module, read from the environment; production differs only by env vars (.env.example)."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from govctl.flags import snapshot as _snapshot_keys

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused when DEBUG is off
DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is off")
# Previous keys, still accepted for sessions, password-reset links and signed values while they age out
# (docs/RUNBOOK.md: rotating SECRET_KEY). django-q2 ignores them: drain or re-sign the queue.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
ADMIN_PATH = env.str("ADMIN_PATH", default="admin/").strip("/") + "/"

INSTALLED_APPS = [
    "governance.admin_site.PortalAdminConfig",  # django.contrib.admin: atomic POSTs, the dashboard home
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Redoc's JavaScript served from our static files: /api/docs/ works offline
    "django_q",
    "simple_history",
    "axes",
    "governance",
    "flags",
    "releases",
    "schemaplans",
    "recovery",
    "observability",
    "status",
    "access",
    "supplychain",
    "chaos",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # after whitenoise (static files never reach it), before everything else it measures
    "observability.middleware.SelfMeasurementMiddleware",
    "governance.middleware.refuse_nul_bytes",  # before any view: PostgreSQL cannot compare NUL bytes
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # The portal honours its own operational flags (service "portal"): see docs/FLAGS.md
    "govctl.django_middleware.GovernanceFlagsMiddleware",
    # last: lockout after repeated failed logins
    "axes.middleware.AxesMiddleware",
]
# Reverting to a historical version is off: an edit goes through the model's service (actor, reason, four-eyes);
# the history pages only show old versions (governance.admin_tools.HistoryAdmin, docs/SECURITY.md).
SIMPLE_HISTORY_REVERT_DISABLED = True

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"
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
            ]
        },
    }
]

DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/governance")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
# Opt-in read replica for flag delivery (governance/db_router.py, docs/ARCHITECTURE.md "Scale-out path").
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=5.0)
DATABASE_REPLICA_LAG_CHECK_SECONDS = env.float("DATABASE_REPLICA_LAG_CHECK_SECONDS", default=1.0)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"].update(CONN_MAX_AGE=DATABASES["default"]["CONN_MAX_AGE"], CONN_HEALTH_CHECKS=True)
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DATABASE_REPLICA_CONNECT_TIMEOUT",
                                                                                 default=2)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["governance.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Shared between processes (throttles and idempotency must not count per process).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "portal_cache"}}
# Several portals sharing one Redis (or cache table) keep apart with their own prefix.
CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default="")

AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)  # hours; None would lock out forever
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_SENSITIVE_PARAMETERS = ["password", "token"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["governance.formats"]  # times with their zone on every page (governance/formatting.py)

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Security: strict by default when DEBUG is off (check --deploy is clean).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["governance.api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["governance.api.permissions.HasTokenScope"],
    "DEFAULT_THROTTLE_CLASSES": ["governance.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("API_THROTTLE_RATE", default="6000/min"),
        # flag delivery counts per process, in memory: it must keep answering with the database down
        "flags": env.str("FLAGS_THROTTLE_RATE", default="6000/min"),
    },
    "EXCEPTION_HANDLER": "governance.api.errors.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "governance.api.schema.PortalAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["governance.api.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Governance portal API",
    "DESCRIPTION": "API for CI pipelines (govctl) and governed services. Authenticate with `Authorization: Bearer <token>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# django-q2: see docs/ARCHITECTURE.md and ../shared/PITFALLS.md (retry > timeout, bounded attempts, no catch-up).
Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="portal"),  # the Redis queue's key: one per portal on a shared Redis
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=600),
    "retry": env.int("Q_RETRY", default=900),
    "max_attempts": 2,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "recycle": 200,
    "max_rss": 512000,
    "poll": 1,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    # django-q2's own Redis broker loses the task of a killed worker; this one leases and acknowledges
    Q_CLUSTER["broker_class"] = "governance.redis_broker.ReliableRedis"
else:
    Q_CLUSTER["orm"] = "default"
if Q_CLUSTER["retry"] <= Q_CLUSTER["timeout"]:
    raise ImproperlyConfigured("Q_RETRY must be larger than Q_TIMEOUT, or tasks run twice")

# Governance
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
API_TOKEN_ROTATION_GRACE_HOURS = env.int("API_TOKEN_ROTATION_GRACE_HOURS", default=24)
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)
HEARTBEAT_MAX_AGE_SECONDS = env.int("HEARTBEAT_MAX_AGE_SECONDS", default=180)
# JSON from the API and admin forms: deeper documents are refused (governance/json_safety.py)
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)
SYSTEM_USERNAME = "system"

# Releases (docs/RELEASES.md). Secrets (GITHUB_TOKEN, provider tokens) are read from the environment when used.
RELEASES_APPROVAL_TTL_HOURS = env.int("RELEASES_APPROVAL_TTL_HOURS", default=24)
RELEASES_PROMOTION_STUCK_MINUTES = env.int("RELEASES_PROMOTION_STUCK_MINUTES", default=30)
RELEASES_DORA_FAILURE_WINDOW_HOURS = env.int("RELEASES_DORA_FAILURE_WINDOW_HOURS", default=72)
RELEASES_ALERT_WEBHOOK_URL = env.str("RELEASES_ALERT_WEBHOOK_URL", default="")
RELEASES_ALERT_WEBHOOK_SECRET_ENV = env.str("RELEASES_ALERT_WEBHOOK_SECRET_ENV", default="RELEASES_ALERT_WEBHOOK_SECRET")
RELEASES_POST_SUMMARY_TO_PR = env.bool("RELEASES_POST_SUMMARY_TO_PR", default=True)
GITHUB_API_URL = env.str("GITHUB_API_URL", default="https://api.github.com")
# GitHub's organisation audit log imported into the audit timeline (docs/AUDIT.md § Sources); empty: no import.
GITHUB_ORG = env.str("GITHUB_ORG", default="")
GITHUB_AUDIT_LOG_INCLUDE = env.str("GITHUB_AUDIT_LOG_INCLUDE", default="web")  # web, git or all
GITHUB_AUDIT_LOG_PHRASE = env.str("GITHUB_AUDIT_LOG_PHRASE", default="")  # GitHub's search phrase, added to the query
GITHUB_AUDIT_LOG_BACKFILL_DAYS = env.int("GITHUB_AUDIT_LOG_BACKFILL_DAYS", default=30)
GITHUB_AUDIT_LOG_MAX_PAGES = env.int("GITHUB_AUDIT_LOG_MAX_PAGES", default=50)
GITHUB_AUDIT_LOG_INTERVAL_MINUTES = env.int("GITHUB_AUDIT_LOG_INTERVAL_MINUTES", default=15)
GITHUB_RATE_LIMIT_MAX_WAIT_SECONDS = env.int("GITHUB_RATE_LIMIT_MAX_WAIT_SECONDS", default=60)
GITHUB_RATE_LIMIT_MIN_REMAINING = env.int("GITHUB_RATE_LIMIT_MIN_REMAINING", default=100)
if GITHUB_AUDIT_LOG_INCLUDE not in ("web", "git", "all"):
    raise ImproperlyConfigured("GITHUB_AUDIT_LOG_INCLUDE must be web, git or all")
# Branch-protection review (docs/RELEASES.md § Branch protection): what the default branch must enforce.
BRANCH_PROTECTION_MIN_REVIEWS = env.int("BRANCH_PROTECTION_MIN_REVIEWS", default=1)
BRANCH_PROTECTION_DISMISS_STALE = env.bool("BRANCH_PROTECTION_DISMISS_STALE", default=True)
BRANCH_PROTECTION_ENFORCE_ADMINS = env.bool("BRANCH_PROTECTION_ENFORCE_ADMINS", default=True)
BRANCH_PROTECTION_BLOCKS_PRODUCTION = env.bool("BRANCH_PROTECTION_BLOCKS_PRODUCTION", default=True)
# On: production waits (pending) while branch protection is not checked (no GitHub, no review yet, a failed review)
# instead of passing with "not checked" (docs/RELEASES.md § Branch protection).
BRANCH_PROTECTION_REQUIRED_IN_PRODUCTION = env.bool("BRANCH_PROTECTION_REQUIRED_IN_PRODUCTION", default=False)

# Disaster recovery (docs/DR.md): where drills restore, how long they may take, where alerts go.
DR_DRILL_ADMIN_DSN = env.str("DR_DRILL_ADMIN_DSN", default="")  # empty: the portal's server, database postgres
DR_SHADOW_PREFIX = env.str("DR_SHADOW_PREFIX", default="gov_drill")
DR_BACKUP_TIMEOUT_SECONDS = env.int("DR_BACKUP_TIMEOUT_SECONDS", default=4 * 3600)
DR_DRILL_TIMEOUT_SECONDS = env.int("DR_DRILL_TIMEOUT_SECONDS", default=4 * 3600)
DR_RTO_CRITICAL_SECONDS = env.int("DR_RTO_CRITICAL_SECONDS", default=15 * 60)
DR_RTO_FULL_SECONDS = env.int("DR_RTO_FULL_SECONDS", default=4 * 3600)
DR_PITR_RPO_OBJECTIVE_SECONDS = env.int("DR_PITR_RPO_OBJECTIVE_SECONDS", default=300)
DR_DRILL_MAX_AGE_DAYS = env.int("DR_DRILL_MAX_AGE_DAYS", default=31)
DR_ALERT_WEBHOOK_URL = env.str("DR_ALERT_WEBHOOK_URL", default="")
DR_ALERT_WEBHOOK_SECRET = env.str("DR_ALERT_WEBHOOK_SECRET", default="")
if DR_ALERT_WEBHOOK_URL and not DR_ALERT_WEBHOOK_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("DR_ALERT_WEBHOOK_URL must be an http:// or https:// URL")
if DR_ALERT_WEBHOOK_URL and not DR_ALERT_WEBHOOK_SECRET:
    raise ImproperlyConfigured("DR_ALERT_WEBHOOK_SECRET is required when DR_ALERT_WEBHOOK_URL is set (alerts are signed)")

# Chaos drills (docs/CHAOS.md): the hard limits on every fault, and the run engine's rhythm.
CHAOS_MAX_TTL_SECONDS = env.int("CHAOS_MAX_TTL_SECONDS", default=1800)
CHAOS_MAX_SHARE = env.float("CHAOS_MAX_SHARE", default=0.5)
CHAOS_MIN_BUDGET_FRACTION = env.float("CHAOS_MIN_BUDGET_FRACTION", default=0.25)
CHAOS_CHECK_INTERVAL_SECONDS = env.float("CHAOS_CHECK_INTERVAL_SECONDS", default=1.0)
CHAOS_LEASE_SECONDS = env.int("CHAOS_LEASE_SECONDS", default=15)
if not 0 < CHAOS_MAX_SHARE <= 1:
    raise ImproperlyConfigured("CHAOS_MAX_SHARE must be in (0, 1]")

# Observability (docs/SLOs.md)
SLI_RETENTION_DAYS = env.int("SLI_RETENTION_DAYS", default=35)
SLO_CHECK_INTERVAL_MINUTES = env.int("SLO_CHECK_INTERVAL_MINUTES", default=60)
SLO_CHECK_NIGHTLY_CRON = env.str("SLO_CHECK_NIGHTLY_CRON", default="15 2 * * *")
SLO_CHECK_GRACE_MINUTES = env.int("SLO_CHECK_GRACE_MINUTES", default=15)
SLO_SNAPSHOT_AFTER_MINUTES = env.int("SLO_SNAPSHOT_AFTER_MINUTES", default=60)
SLO_SNAPSHOT_RETENTION_DAYS = env.int("SLO_SNAPSHOT_RETENTION_DAYS", default=90)
SLO_OVERRIDE_MAX_HOURS = env.int("SLO_OVERRIDE_MAX_HOURS", default=168)
SLO_SELF_MEASURE = env.bool("SLO_SELF_MEASURE", default=True)
SLO_SELF_SERVICE = env.str("SLO_SELF_SERVICE", default="portal")
SLO_SELF_ENVIRONMENT = env.str("SLO_SELF_ENVIRONMENT", default="production")
SLO_SELF_FLUSH_SECONDS = env.int("SLO_SELF_FLUSH_SECONDS", default=30)
PROMETHEUS_URL = env.str("PROMETHEUS_URL", default="")
PORTAL_URL = env.str("PORTAL_URL", default="")
# Who may scrape GET /metrics without a token (observability/metrics.py); a valid API token works from anywhere.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
STATUS_PAGE_NAME = env.str("STATUS_PAGE_NAME", default="Service status")  # the public status page's title
# E-mail (status-page subscribers, reminders to incident commanders): EMAIL_URL, e.g.
# smtp+tls://user:password@mail.example.com:587. Unset in development, mails go to the worker's log (console backend)
# instead of failing against localhost:25; unset in production, Django's default (an MTA on localhost:25).
_EMAIL_URL = env.str("EMAIL_URL", default="")
if _EMAIL_URL:
    globals().update(env.email_url_config(_EMAIL_URL))
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="status@localhost")
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=4)
# The vulnerability database's scheduled sync (supplychain): an OSV export as a directory, a .zip path or an
# http(s) URL of a .zip; empty: no sync (import by hand with `manage.py vulndb_import`).
VULNDB_SYNC_SOURCE = env.str("VULNDB_SYNC_SOURCE", default="")
VULNDB_SYNC_HOURS = env.int("VULNDB_SYNC_HOURS", default=6)
# The lowest severity that blocks production when the environment has no severity policy of its own.
VULNDB_GATE_SEVERITY = env.str("VULNDB_GATE_SEVERITY", default="high")
if VULNDB_GATE_SEVERITY not in ("none", "low", "medium", "high", "critical"):
    raise ImproperlyConfigured(
        f"VULNDB_GATE_SEVERITY={VULNDB_GATE_SEVERITY!r}: use none, low, medium, high or critical")
if VULNDB_SYNC_HOURS < 1:
    raise ImproperlyConfigured("VULNDB_SYNC_HOURS must be at least 1")
if SLO_CHECK_INTERVAL_MINUTES < 1 or SLO_SELF_FLUSH_SECONDS < 1 or SLI_RETENTION_DAYS < 8:
    raise ImproperlyConfigured("SLO_CHECK_INTERVAL_MINUTES and SLO_SELF_FLUSH_SECONDS must be >= 1, "
                               "SLI_RETENTION_DAYS >= 8 (the default SLOs look back 7 days)")

# Access reviews and the secrets inventory (docs/SECURITY.md)
ACCESS_REVIEW_TIMEOUT_SECONDS = env.int("ACCESS_REVIEW_TIMEOUT_SECONDS", default=30)

# Flags (docs/FLAGS.md)
FLAGS_SIGNING_SECRET = env.str("FLAGS_SIGNING_SECRET", default="") or hmac.new(
    SECRET_KEY.encode(), b"governance flag snapshots", hashlib.sha256).hexdigest()
# Named signing keys (docs/SECURITY.md, "Rotating the flag signing key"): "kid1:secret1,kid2:secret2" and the id
# the portal signs with now. Unset: the one unnamed FLAGS_SIGNING_SECRET (deprecated, kept working).
FLAGS_SIGNING_KEY_ID = env.str("FLAGS_SIGNING_KEY_ID", default="")
try:
    FLAGS_SIGNING_KEYS = _snapshot_keys.parse_keys(env.str("FLAGS_SIGNING_KEYS", default=""))
except ValueError as _exc:
    raise ImproperlyConfigured(f"FLAGS_SIGNING_KEYS: {_exc}") from None
if (FLAGS_SIGNING_KEYS or FLAGS_SIGNING_KEY_ID) and FLAGS_SIGNING_KEY_ID not in FLAGS_SIGNING_KEYS:
    raise ImproperlyConfigured(f"FLAGS_SIGNING_KEY_ID {FLAGS_SIGNING_KEY_ID!r} must name one of FLAGS_SIGNING_KEYS "
                               f"({', '.join(sorted(FLAGS_SIGNING_KEYS)) or 'empty'})")
FLAGS_SNAPSHOT_MAX_AGE = env.int("FLAGS_SNAPSHOT_MAX_AGE", default=300)
# Audit exports and checkpoints are signed with Ed25519 (docs/AUDIT.md). Production: AUDIT_SIGNING_KEY (PEM or
# base64 of the raw 32-byte seed) from the secret store. Development: generated once into this file (0600).
AUDIT_SIGNING_KEY = env.str("AUDIT_SIGNING_KEY", default="")
AUDIT_SIGNING_KEY_FILE = env.path("AUDIT_SIGNING_KEY_FILE", default=str(BASE_DIR / "var" / "audit" / "signing-key.pem"))
if not DEBUG and not AUDIT_SIGNING_KEY:
    raise ImproperlyConfigured("AUDIT_SIGNING_KEY must be set when DEBUG is off (docs/AUDIT.md: key management)")
# A checkpoint covers events older than this margin, so a transaction still open cannot land behind it.
AUDIT_CHECKPOINT_MARGIN_SECONDS = env.int("AUDIT_CHECKPOINT_MARGIN_SECONDS", default=300)
FLAGS_LKG_DIR = env.path("FLAGS_LKG_DIR", default=str(BASE_DIR / "var" / "flags"))
FLAGS_MEMORY_TTL_SECONDS = env.float("FLAGS_MEMORY_TTL_SECONDS", default=2.0)
FLAGS_CACHE_TIMEOUT = 24 * 3600
FLAGS_DB_RETRY_SECONDS = env.int("FLAGS_DB_RETRY_SECONDS", default=5)
FLAGS_TOKEN_CACHE_SECONDS = env.int("FLAGS_TOKEN_CACHE_SECONDS", default=10)
# The flag stream (flags/stream.py, served by uvicorn): comment heartbeat, periodic resync, client retry hint
FLAGS_STREAM_HEARTBEAT_SECONDS = env.float("FLAGS_STREAM_HEARTBEAT_SECONDS", default=15.0)
FLAGS_STREAM_RESYNC_SECONDS = env.float("FLAGS_STREAM_RESYNC_SECONDS", default=30.0)
FLAGS_STREAM_RETRY_MS = env.int("FLAGS_STREAM_RETRY_MS", default=2000)
FLAGS_STREAM_CHANNEL = env.str("FLAGS_STREAM_CHANNEL", default="flags_changed")  # NOTIFY / PUBLISH channel
FLAGS_STALE_DAYS = env.int("FLAGS_STALE_DAYS", default=30)
FLAGS_INSTANCE_WINDOW_MINUTES = env.int("FLAGS_INSTANCE_WINDOW_MINUTES", default=15)
FLAGS_INSTANCE_RETENTION_DAYS = env.int("FLAGS_INSTANCE_RETENTION_DAYS", default=7)
FLAGS_PORTAL_SERVICE = "portal"
FLAGS_PORTAL_ENVIRONMENT = env.str("FLAGS_PORTAL_ENVIRONMENT", default="production")
GOVERNANCE_FLAGS = {
    "FLAG_SOURCE": "flags.portal_source.source",
    "API_PREFIXES": ["/api/", "/ofrep/"],
    # Health checks, the admin login and the flag API stay up in portal maintenance: governed services
    # keep reading their flags, and an operator can log in, or use govctl, to switch maintenance off.
    # "/api/v1/flags" without a slash: the list (/api/v1/flags?service=…) too, not only /api/v1/flags/….
    # /metrics too: monitoring keeps seeing the portal while it is in maintenance.
    "HEALTH_PATHS": ["/healthz", "/readyz", "/metrics", f"/{ADMIN_PATH}login/"],
    "EXEMPT_PREFIXES": ["/api/v1/flags", "/ofrep/", "/api/client/"],
    # The public status page and its Statuspage API tell customers about the maintenance: they stay up in it
    # (the kill switches still apply: kill_switch_api closes /api/v2/, kill_switch_database its subscriptions).
    "MAINTENANCE_EXEMPT_PREFIXES": ["/status/", "/api/v2/"],
    # A chaos drill of the portal itself never faults the way out of it: the chaos API (halt, fault removal) and
    # the chaos admin pages answer, and reach the database, whatever faults are active (docs/CHAOS.md).
    "CHAOS_EXEMPT_PREFIXES": ["/api/v1/chaos", f"/{ADMIN_PATH}chaos/"],
    "RETRY_AFTER": 300,
    # kill_switch_database keeps these writable: the flags themselves (so the switch can be turned off),
    # the audit trail, logins and sessions, and the caches/telemetry the portal needs to answer.
    "ALWAYS_WRITABLE_TABLES": [
        "flags_flag", "flags_historicalflag", "flags_flagstate", "flags_historicalflagstate",
        "flags_segment", "flags_historicalsegment", "flags_changerequest", "flags_historicalchangerequest",
        "flags_scheduledchange", "flags_historicalscheduledchange", "flags_sdkinstance", "flags_breakglassrecord",
        "governance_auditevent", "governance_apitoken", "django_session", "django_admin_log", "auth_user",
        "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog", "portal_cache",
    ],
}

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Request bodies and headers (tokens, passwords) are never logged.
    "loggers": {"django.request": {"level": "ERROR"}, "axes": {"level": "WARNING"}},
}
