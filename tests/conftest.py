"""Shared fixtures: three people per group (an admin, a member, an outsider)."""

import os

import pytest
from django.conf import settings

from groups.models import Role
from tests.factories import GroupFactory, MembershipFactory
from tests.stripe_fixtures import localstripe_url, stripe_base  # noqa: F401

# In CI every test must run: a skip means a missing service, and fails the run.
REQUIRE_ALL = os.environ.get("PORTAL_TESTS_REQUIRE_ALL") == "1"


def _restore_reference_data(sender, **kwargs) -> None:
    """Put back what data migrations seed, after a transactional test's flush.

    Django sends post_migrate after flushing the tables between transactional
    tests; without this, later tests would meet an empty price book and tier table.
    """
    if sender.label != "gateway":
        return  # Once per flush is enough; gateway's models are the last installed.
    from tests.api_helpers import seed_catalog
    from tests.seeded_tiers import ensure_seeded_tiers

    seed_catalog()
    ensure_seeded_tiers()


def pytest_configure(config):
    from django.db.models.signals import post_migrate

    from portal.celery import app

    post_migrate.connect(_restore_reference_data, dispatch_uid="restore-reference-data")

    # Tasks run in-process unless a test asks for the real worker.
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if REQUIRE_ALL and skipped and exitstatus == 0:
        reporter.write_line(
            f"{len(skipped)} test(s) skipped; CI runs every test.", red=True
        )
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    from limits.services import forget_local_limits

    cache.clear()
    forget_local_limits()
    yield


@pytest.fixture
def postgres():
    """Skip (fail, in CI) unless the tests run on PostgreSQL."""
    if not settings.DATABASE_IS_POSTGRES:
        pytest.skip("needs PostgreSQL: set DATABASE_URL")


@pytest.fixture
def redis_url():
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL")
    return settings.REDIS_URL


@pytest.fixture
def group(db):
    return GroupFactory()


@pytest.fixture
def admin_user(group):
    return MembershipFactory(group=group, role=Role.ADMIN).user


@pytest.fixture
def member_user(group):
    return MembershipFactory(group=group, role=Role.MEMBER).user


@pytest.fixture
def outsider(db):
    other = GroupFactory()
    return MembershipFactory(group=other, role=Role.ADMIN).user


def _client_for(client_class, user):
    client = client_class()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user):
    from django.test import Client

    return _client_for(Client, admin_user)


@pytest.fixture
def member_client(member_user):
    from django.test import Client

    return _client_for(Client, member_user)


@pytest.fixture
def outsider_client(outsider):
    from django.test import Client

    return _client_for(Client, outsider)


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright; never a downloaded browser."""
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.path.exists(executable):
        pytest.skip(f"needs Chromium at {executable}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls that
    # tests make between page actions are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()


@pytest.fixture
def screenshot_dir():
    from pathlib import Path

    path = Path(os.environ.get("PLAYWRIGHT_SCREENSHOTS", "var/screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def celery_worker(request, redis_url, postgres, tmp_path):
    """A real `celery -A portal worker` on the test database and Redis.

    Needs `django_db(transaction=True)`, so that the worker sees committed rows.
    Tasks sent while it runs go through Redis instead of running in-process.
    """
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.db import connection

    from portal.celery import app

    stripe_api = request.getfixturevalue("localstripe_url")
    database = dict(connection.settings_dict)
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD']}@"
            f"{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/"
            f"{database['NAME']}"
        ),
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "STRIPE_API_BASE": stripe_api,
        "DJANGO_ALLOW_ASYNC_UNSAFE": "",
    }
    log = tmp_path / "worker.log"
    root = Path(__file__).resolve().parent.parent
    celery = str(Path(sys.executable).with_name("celery"))
    with log.open("w") as out:
        worker = subprocess.Popen(
            [
                celery,
                "-A",
                "portal",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"test-{os.getpid()}@%h",
            ],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text():
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail(f"Celery worker did not start:\n{log.read_text()}")
        time.sleep(0.2)
    app.conf.task_always_eager = False
    try:
        yield log
    finally:
        app.conf.task_always_eager = True
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
