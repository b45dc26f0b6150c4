"""Settings for API Portal, read from the environment.

Defaults serve local development: SQLite under var/, tasks run in-process, mail to
the console, Stripe calls to a localstripe on 127.0.0.1. Production (DEBUG off)
refuses to start without its secrets.
"""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab

from portal.env import env_bool, env_int, env_list, env_required, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)
PRODUCTION = not DEBUG

SECRET_KEY = env_required("SECRET_KEY", when=PRODUCTION) or (
    "insecure-local-development-key-never-use-in-production"
)
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Absolute base URL of the portal, used in emails and in the API examples we show.
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
PORTAL_NAME = env_str("PORTAL_NAME", "API Portal")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "django_countries",
    # Our apps, bottom layer first.
    "groups",
    "members",
    "apikeys",
    "usage",
    "billing",
    "limits",
    "invoices",
    "gateway",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.UserTimezoneMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.portal",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL names another (PostgreSQL in
# production and CI). Connections persist: a fresh one per request costs the
# metered API most of its throughput.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600),
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
    )
}
DATABASE_IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if not DATABASE_IS_POSTGRES:
    # SQLite allows one writer: writes take the lock when their transaction starts
    # (and wait for it) instead of failing when a read upgrades to a write, and
    # the write-ahead log lets pages read while a call is being debited.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20,
        transaction_mode="IMMEDIATE",
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
else:
    # psycopg prepares a statement only when asked (portal.db.fetch_one): Django
    # leaves preparation off, and its own cursors bind on the client and never
    # prepare. Behind PgBouncer's transaction pooling this needs version 1.21 or
    # later with max_prepared_statements above zero.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: the shared cache (rate limits, login throttling, key revocation) and the
# Celery broker. Without it the cache is per process and tasks run in-process.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "portal"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# In-process tasks need no broker; naming a host spares kombu its warning.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "sweep-auto-top-ups": {
        "task": "billing.tasks.sweep_auto_top_ups",
        "schedule": 300.0,
    },
    "issue-monthly-invoices": {
        "task": "invoices.tasks.issue_monthly_invoices",
        "schedule": crontab(minute=15, hour="*/6"),
    },
}

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Accounts: email is the login; addresses are verified before first use.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
# People are known by their name or email here, never by the generated username.
ACCOUNT_USER_DISPLAY = lambda user: user.get_full_name() or user.email  # noqa: E731
# Sign-up also asks for the person's name, shown on members lists.
ACCOUNT_SIGNUP_FORM_CLASS = "members.forms.SignupDetailsForm"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{PORTAL_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

# Mail: the console locally; SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
# The file backend writes each message to a folder: the end-to-end test reads mail
# sent by other processes there.
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "API Portal <billing@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Stripe. Locally and in tests the SDK talks to localstripe; production sets the
# real keys and leaves STRIPE_API_BASE and STRIPE_JS_URL at Stripe's own.
STRIPE_SECRET_KEY = env_required("STRIPE_SECRET_KEY", when=PRODUCTION) or (
    "sk_test_localstripe"
)
STRIPE_PUBLISHABLE_KEY = env_required("STRIPE_PUBLISHABLE_KEY", when=PRODUCTION) or (
    "pk_test_localstripe"
)
STRIPE_WEBHOOK_SECRET = env_required("STRIPE_WEBHOOK_SECRET", when=PRODUCTION) or (
    "whsec_localstripe"
)
STRIPE_API_BASE = env_str(
    "STRIPE_API_BASE",
    "https://api.stripe.com" if PRODUCTION else "http://127.0.0.1:8420",
)
STRIPE_JS_URL = env_str(
    "STRIPE_JS_URL",
    "https://js.stripe.com/v3/"
    if PRODUCTION
    else "http://127.0.0.1:8420/js.stripe.com/v3/",
)

# Credits and billing.
PORTAL_CURRENCY = env_str("PORTAL_CURRENCY", "usd")
CREDIT_PURCHASE_MIN = env_int("CREDIT_PURCHASE_MIN", 5)
CREDIT_PURCHASE_MAX = env_int("CREDIT_PURCHASE_MAX", 10_000)
SELLER_NAME = env_str("SELLER_NAME", "API Portal Inc.")
SELLER_ADDRESS = env_str(
    "SELLER_ADDRESS", "1 Example Street\nSan Francisco, CA 94105\nUS"
)
SELLER_TAX_ID = env_str("SELLER_TAX_ID", "")
SELLER_EMAIL = env_str("SELLER_EMAIL", "billing@localhost")

# API keys and the metered API.
API_KEY_PREFIX = env_str("API_KEY_PREFIX", "apk")
INVITATION_TTL_DAYS = env_int("INVITATION_TTL_DAYS", 7)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Locally whitenoise serves straight from the source folders; production serves
# what `collectstatic` gathered.
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = DEBUG

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    # Off only for a production-mode server on plain-HTTP loopback (the journey test).
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        name: {"level": LOG_LEVEL}
        for name in (
            "groups",
            "members",
            "apikeys",
            "usage",
            "billing",
            "limits",
            "invoices",
            "gateway",
            "portal",
        )
    },
}
