"""Settings, all from environment variables (see README "Configuration"); read and checked with console/env.py."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from console import env, secret_key_file
from console.env import envbool, envfloat, envint, envlist

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CONSOLE_VAR_DIR", BASE_DIR / "var"))

# --- Core -----------------------------------------------------------------
DEBUG = envbool("DEBUG", False)
# Without SECRET_KEY in the environment: the key `make run` wrote into var/ (a development checkout);
# neither, with DEBUG=0, stops here (console.env.secret_key). `check --deploy` warns when DEBUG=0 uses the file.
SECRET_KEY_FILE = VAR_DIR / secret_key_file.NAME
SECRET_KEY, SECRET_KEY_FROM_FILE = env.secret_key(debug=DEBUG, key_file=SECRET_KEY_FILE)

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

# Key that encrypts stored S3 secret keys (Fernet). Defaults to one derived from SECRET_KEY.
CONSOLE_ENCRYPTION_KEY = os.environ.get("CONSOLE_ENCRYPTION_KEY", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",  # runserver serves static files as production does
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "django_tasks",
    "console",
    # Before django_tasks_db: `manage.py db_worker` is then ours (buckets/management/commands/db_worker.py),
    # which also takes over the jobs of workers that died.
    "buckets",
    "watch",  # drift detection and alert rules
    "catalog",  # the bucket index: search and storage analytics
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files from the app: no proxy needed
    "console.metrics.RequestMetricsMiddleware",  # after WhiteNoise: static files are not counted
    "console.security.EndpointCSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "console.middleware.SessionIdleTimeoutMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "console.middleware.S3TimeBudgetMiddleware",
    "console.middleware.HtmxErrorMiddleware",
    "console.security.TwoFactorMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the login page with the reason
]

ROOT_URLCONF = "console.urls"
CSRF_FAILURE_VIEW = "console.errors.csrf_failure"  # JSON for the upload script, the usual page otherwise
WSGI_APPLICATION = "console.wsgi.application"

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
                "console.context_processors.console",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

# --- Database -------------------------------------------------------------
# Connections are kept between requests and checked before reuse; SQLite waits for the other writer (WAL).
DATABASES = {"default": env.database(f"sqlite:///{VAR_DIR / 'console.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background tasks -----------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# --- Auth and sessions ----------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 8 * 3600)
# Idle timeout: console.middleware.SessionIdleTimeoutMiddleware slides the expiry (at most once a minute,
# not a database write on every request), so SESSION_COOKIE_AGE counts from the last activity.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_TOUCH_INTERVAL = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- Cache ------------------------------------------------------------------
# With REDIS_URL, one cache for every instance and worker: sessions are read from it instead of the
# database (cached_db: written to both), and remembered bucket facts are shared. Without it, each
# process keeps its own small cache and sessions stay in the database (a per-process session cache
# would keep a logged-out session alive in the other processes).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    _redis_timeout = envfloat("REDIS_TIMEOUT", 0.5)
    CACHES = {
        "default": {
            "BACKEND": "console.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("REDIS_KEY_PREFIX", "s3console"),
            "OPTIONS": {"socket_timeout": _redis_timeout, "socket_connect_timeout": _redis_timeout},
        }
    }
    SESSION_ENGINE = "console.sessions.cached_db"  # Django's cached_db, read without the ORM's compile
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "s3console"}}
    SESSION_ENGINE = "console.sessions.db"
# Page output kept in each process under the database's change counters (console/fragments.py): never
# shared, so never stale across instances; PAGE_KEEP_SECONDS bounds its age ("… ago" texts), 0 keeps none.
CACHES["pages"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "s3console-pages",
    "OPTIONS": {"MAX_ENTRIES": 500},
}
PAGE_KEEP_SECONDS = max(envint("PAGE_KEEP_SECONDS", 30), 0)  # below 0: none kept, as 0
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out users before the password is checked
    "console.backends.LocalPasswordBackend",  # Django's ModelBackend; SSO_ONLY limits it to break-glass admins
]
# One-time set-password links handed out by an admin stay valid this long (seconds) or until used.
PASSWORD_RESET_TIMEOUT = envint("PASSWORD_LINK_TIMEOUT", 3 * 24 * 3600)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Failed-login throttling (django-axes, console.lockout): LOGIN_FAILURE_LIMIT failures of one user
# name from one address lock that name from that address; LOGIN_ADDRESS_FAILURE_LIMIT failures from
# one address (many names) lock the address. Both for LOGIN_LOCKOUT_MINUTES after the last failure.
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = envint("LOGIN_ADDRESS_FAILURE_LIMIT", 50)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]  # order matters: console.lockout
AXES_HANDLER = "console.lockout.ConsoleAxesHandler"
# Tries during a lock do not extend it: the time the login page gives is the time it lasts.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "console.otp_views.lockout_response"
AXES_CLIENT_IP_CALLABLE = "console.audit.client_ip"  # the same address the audit trail records
AXES_VERBOSE = False

# Two-factor (TOTP, django-otp): enrolled users give a code after the password. Required for
# everyone with OTP_REQUIRED_FOR_ALL=1, otherwise for the users an admin marks.
OTP_REQUIRED_FOR_ALL = envbool("OTP_REQUIRED_FOR_ALL", False)
OTP_TOTP_ISSUER = os.environ.get("OTP_ISSUER", "S3 Console")

# --- Single sign-on: OpenID Connect (console.oidc) and LDAP / Active Directory (console.ldap_auth) ----
# Off unless configured. Directory groups map to console groups on the "Directory groups" admin page.
OIDC_DISCOVERY_URL = os.environ.get("OIDC_DISCOVERY_URL", "")
OIDC_ENABLED = bool(OIDC_DISCOVERY_URL)
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
if OIDC_ENABLED and not OIDC_RP_CLIENT_ID:
    raise ImproperlyConfigured("OIDC_DISCOVERY_URL is set: set OIDC_CLIENT_ID (and OIDC_CLIENT_SECRET) too.")
OIDC_RP_SCOPES = os.environ.get("OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_SIGN_ALGORITHM", "RS256")
OIDC_USERNAME_CLAIM = os.environ.get("OIDC_USERNAME_CLAIM", "preferred_username")
OIDC_EMAIL_CLAIM = os.environ.get("OIDC_EMAIL_CLAIM", "email")
OIDC_GROUPS_CLAIM = os.environ.get("OIDC_GROUPS_CLAIM", "groups")
OIDC_BUTTON_LABEL = os.environ.get("OIDC_BUTTON_LABEL", "Sign in with single sign-on")
OIDC_USE_USERINFO = envbool("OIDC_USE_USERINFO", True)
OIDC_LOGOUT_AT_PROVIDER = envbool("OIDC_LOGOUT_AT_PROVIDER", True)
OIDC_TIMEOUT = envfloat("OIDC_TIMEOUT", 5.0)
OIDC_DISCOVERY_TTL = envint("OIDC_DISCOVERY_TTL", 3600)
OIDC_CLOCK_SKEW = envint("OIDC_CLOCK_SKEW", 60)
# TLS of the provider: verified; OIDC_CA_FILE for a private CA (requests takes the path as `verify`).
OIDC_VERIFY_SSL = os.environ.get("OIDC_CA_FILE", "") or True
OIDC_TOKEN_USE_BASIC_AUTH = os.environ.get("OIDC_TOKEN_AUTH", "client_secret_post") == "client_secret_basic"
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # for the provider's logout (id_token_hint)
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_callback"
LOGIN_REDIRECT_URL_FAILURE = "login"
# Two-factor: SSO users skip the console's TOTP when the provider enforces MFA; with OIDC_MFA_AMR /
# OIDC_MFA_ACR the ID token must show it (an `amr` value or the `acr` in the list), else the sign-in is refused.
SSO_MFA_BY_PROVIDER = envbool("SSO_MFA_BY_PROVIDER", False)
OIDC_MFA_AMR = envlist("OIDC_MFA_AMR")
OIDC_MFA_ACR = envlist("OIDC_MFA_ACR")
# SSO only: no password sign-in except for the break-glass local admins named here.
SSO_ONLY = envbool("SSO_ONLY", False)
SSO_BREAK_GLASS_USERS = envlist("SSO_BREAK_GLASS_USERS")
SSO_REQUIRE_MAPPED_GROUP = envbool("SSO_REQUIRE_MAPPED_GROUP", True)

LDAP_SERVER_URI = os.environ.get("LDAP_SERVER_URI", "")
LDAP_ENABLED = bool(LDAP_SERVER_URI)
LDAP_BIND_DN = os.environ.get("LDAP_BIND_DN", "")
LDAP_BIND_PASSWORD = os.environ.get("LDAP_BIND_PASSWORD", "")
LDAP_USER_DN_TEMPLATE = os.environ.get("LDAP_USER_DN_TEMPLATE", "")
LDAP_USER_SEARCH_BASE = os.environ.get("LDAP_USER_SEARCH_BASE", "")
LDAP_USER_SEARCH_FILTER = os.environ.get("LDAP_USER_SEARCH_FILTER", "(uid=%(user)s)")
LDAP_GROUP_SEARCH_BASE = os.environ.get("LDAP_GROUP_SEARCH_BASE", "")
LDAP_GROUP_SEARCH_FILTER = os.environ.get("LDAP_GROUP_SEARCH_FILTER", "(objectClass=groupOfNames)")
LDAP_GROUP_TYPE = os.environ.get("LDAP_GROUP_TYPE", "nestedGroupOfNames")
LDAP_GROUP_NAME_ATTR = os.environ.get("LDAP_GROUP_NAME_ATTR", "cn")
LDAP_START_TLS = envbool("LDAP_START_TLS", False)
LDAP_CA_FILE = os.environ.get("LDAP_CA_FILE", "")
LDAP_TIMEOUT = envfloat("LDAP_TIMEOUT", 5.0)
LDAP_ATTR_FIRST_NAME = os.environ.get("LDAP_ATTR_FIRST_NAME", "givenName")
LDAP_ATTR_LAST_NAME = os.environ.get("LDAP_ATTR_LAST_NAME", "sn")
LDAP_ATTR_EMAIL = os.environ.get("LDAP_ATTR_EMAIL", "mail")
if LDAP_ENABLED:
    env.check_ldap(
        group_type=LDAP_GROUP_TYPE, group_search_base=LDAP_GROUP_SEARCH_BASE,
        user_dn_template=LDAP_USER_DN_TEMPLATE, user_search_base=LDAP_USER_SEARCH_BASE,
    )  # fmt: skip
# Both backends stay in the list and stand aside while not configured (so existing sessions resolve).
AUTHENTICATION_BACKENDS += ["console.ldap_auth.ConsoleLDAPBackend", "console.oidc.OIDCBackend"]

# --- Security headers -----------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
if envbool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content-Security-Policy (django-csp): no inline script, no framing. The origins of the configured
# endpoints are added to img-src/connect-src per request (previews and uploads talk to S3 directly).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "media-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],  # + the OpenID provider (console.security): logout's answer goes there
        "base-uri": ["'none'"],
    }
}
# How long a process keeps the list of endpoint origins before reading it again (seconds);
# changes made through this process apply at once.
CSP_ENDPOINT_ORIGINS_TTL = envint("CSP_ENDPOINT_ORIGINS_TTL", 60)
# A load balancer's health check and Prometheus often speak plain HTTP to the instance itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
# Address of the client for the audit trail: trust X-Forwarded-For only behind a known proxy.
AUDIT_TRUST_X_FORWARDED_FOR = envbool("AUDIT_TRUST_X_FORWARDED_FOR", False)

# --- Audit archive (manage.py audit_archive) ------------------------------
# Old audit events are moved as JSON Lines to this bucket, through the endpoint of that name
# (its URL, credentials and region), under the prefix; the chain stays verifiable across the cut.
AUDIT_ARCHIVE_BUCKET = os.environ.get("AUDIT_ARCHIVE_BUCKET", "")
AUDIT_ARCHIVE_PREFIX = os.environ.get("AUDIT_ARCHIVE_PREFIX", "audit/")
AUDIT_ARCHIVE_ENDPOINT = os.environ.get("AUDIT_ARCHIVE_ENDPOINT", "")

# --- Health check and metrics (console/health.py, console/metrics.py) -----
# The task worker (manage.py console_worker) records a heartbeat this often (seconds); /healthz
# answers 503 when no worker's heartbeat is younger than WORKER_HEARTBEAT_MAX_AGE.
WORKER_HEARTBEAT_INTERVAL = envfloat("WORKER_HEARTBEAT_INTERVAL", 15.0)
WORKER_HEARTBEAT_MAX_AGE = envfloat("WORKER_HEARTBEAT_MAX_AGE", 60.0)
# /metrics answers only when one of these is set (404 otherwise); with both, both must match.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env.networks("METRICS_ALLOWED_NETWORKS")

# --- Static files ---------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# collectstatic writes hashed names and gzip copies; WhiteNoise serves the hashed ones with a cache
# lifetime of ten years (immutable) and the rest for 60 seconds. DEBUG serves the plain names.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- S3 client ------------------------------------------------------------
S3_CONNECT_TIMEOUT = envfloat("S3_CONNECT_TIMEOUT", 5.0)
S3_READ_TIMEOUT = envfloat("S3_READ_TIMEOUT", 30.0)
S3_MAX_ATTEMPTS = envint("S3_MAX_ATTEMPTS", 4)
S3_MAX_POOL_CONNECTIONS = envint("S3_MAX_POOL_CONNECTIONS", 20)

# --- Logging: secrets never reach it (the S3 module logs codes, not credentials) ----
LOGGING = env.logging_config(os.environ.get("LOG_LEVEL", "INFO"))

# --- Time budgets and locks (see README "Configuration") -----------------------------------
# A page or partial waits at most this long for S3 in all, then says the endpoint did not answer;
# keep it below gunicorn's timeout (gunicorn.conf.py).
S3_PAGE_BUDGET = envfloat("S3_PAGE_BUDGET", 20.0)
# A background job waits at most this long for each S3 call.
S3_JOB_CALL_BUDGET = envfloat("S3_JOB_CALL_BUDGET", 120.0)
# Two saves of one S3 resource (an object's metadata, a bucket's policy) run one after the other:
# the second waits at most LOCK_WAIT_SECONDS; a lease whose holder died expires after LOCK_LEASE_SECONDS.
LOCK_WAIT_SECONDS = envfloat("LOCK_WAIT_SECONDS", 10.0)
LOCK_LEASE_SECONDS = envfloat("LOCK_LEASE_SECONDS", 120.0)
# A running background job holds a lease that its worker renews every JOB_LEASE_SECONDS / 4; a job
# whose lease ran out (its worker was killed, ran out of memory, lost its host) is taken over by any
# worker (each one looks every JOB_LEASE_SECONDS / 4) and resumed from its last checkpoint, or ended
# as failed once it has been started JOB_MAX_ATTEMPTS times. See buckets/jobs.py.
JOB_LEASE_SECONDS = envfloat("JOB_LEASE_SECONDS", 60.0)
JOB_MAX_ATTEMPTS = envint("JOB_MAX_ATTEMPTS", 3)
# Bulk actions (buckets/services/bulk.py): the rate a new bulk job offers, in objects per second (0: unthrottled).
BULK_RATE = envint("BULK_RATE", 50)

# --- The bucket index (catalog/, see README "Index, search and analytics") ----------------------
# Requests a second one crawl sends (ListObjectsV2 pages, and HeadObject/GetObjectTagging when tags and
# metadata are indexed); 0: no limit. A bucket's own setting overrides it.
INDEX_REQUESTS_PER_SECOND = envfloat("INDEX_REQUESTS_PER_SECOND", 20.0)
# Hours between re-crawls of an indexed bucket (0: never); a bucket's own setting overrides it.
INDEX_RECRAWL_HOURS = envint("INDEX_RECRAWL_HOURS", 24)
# An index whose last complete crawl is older than this says so on search and analytics pages.
INDEX_STALE_HOURS = envint("INDEX_STALE_HOURS", 48)
# Incomplete multipart uploads aborted in the request up to this many; more run as a background job.
INDEX_ABORT_INLINE = envint("INDEX_ABORT_INLINE", 200)
if JOB_LEASE_SECONDS < 1 or JOB_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("JOB_LEASE_SECONDS must be at least 1 and JOB_MAX_ATTEMPTS at least 1.")

# --- Drift detection and alerts (watch/; README "Drift and alerts") -------------------------
# The scheduler (manage.py console_scheduler) enqueues a drift pass over every endpoint this often.
DRIFT_CHECK_MINUTES = envint("DRIFT_CHECK_MINUTES", 15)
DRIFT_CHECK_THREADS = envint("DRIFT_CHECK_THREADS", 8)  # buckets read at the same time in a pass
if DRIFT_CHECK_MINUTES < 1 or DRIFT_CHECK_THREADS < 1:
    raise ImproperlyConfigured("DRIFT_CHECK_MINUTES and DRIFT_CHECK_THREADS must be at least 1.")
# Webhook destinations: refuse URLs whose host is (or resolves to) a private, loopback or link-local address.
ALERT_BLOCK_PRIVATE_ADDRESSES = envbool("ALERT_BLOCK_PRIVATE_ADDRESSES", False)
ALERT_WEBHOOK_TIMEOUT = envfloat("ALERT_WEBHOOK_TIMEOUT", 5.0)  # seconds to connect and for the answer
ALERT_MAX_ATTEMPTS = envint("ALERT_MAX_ATTEMPTS", 6)  # tries of a delivery before it becomes a dead letter
CONSOLE_BASE_URL = os.environ.get("CONSOLE_BASE_URL", "").rstrip("/")  # links in alerts (https://console.example.com)
# E-mail destinations go through Django's mail settings.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "s3-console@localhost")
