"""Shared fixtures: three people per group (an admin, a member, an outsider)."""

import os

import pytest
from django.conf import settings

from groups.models import Role
from tests.factories import GroupFactory, MembershipFactory

# In CI every test must run: a skip means a missing service, and fails the run.
REQUIRE_ALL = os.environ.get("PORTAL_TESTS_REQUIRE_ALL") == "1"


def pytest_configure(config):
    from portal.celery import app

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

    cache.clear()
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
