"""Rate limits through the real API view: 429 with headers, and no charge."""

import pytest

from billing.ledger import get_balance
from billing.models import LedgerEntry, LedgerKind
from limits import ratelimit
from limits.services import set_model_limit
from tests.api_helpers import (
    chat_body,
    fund,
    new_secret,
    post_chat,
    seed_catalog,
    sse_events,
)
from tests.seeded_tiers import ensure_seeded_tiers
from usage.models import UsageEvent

COST = 3 + 64 + 5_000  # sonar, "Hello there", low context


@pytest.fixture(autouse=True)
def _catalog_and_tiers(db):
    seed_catalog()
    ensure_seeded_tiers()
    ratelimit.get_limiter.cache_clear()
    yield
    ratelimit.get_limiter.cache_clear()


@pytest.fixture
def secret(group):
    fund(group, "10")
    return new_secret(group)


def test_burst_above_the_limit_gets_429_with_headers_and_no_charge(
    client, group, secret
):
    set_model_limit(group, "sonar", 3)
    responses = [post_chat(client, secret, chat_body()) for _ in range(5)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert [r["x-ratelimit-remaining"] for r in responses[:3]] == ["2", "1", "0"]
    refused = responses[3]
    assert refused["x-ratelimit-limit"] == "3"
    assert refused["x-ratelimit-remaining"] == "0"
    assert int(refused["x-ratelimit-reset"]) == 60
    assert refused["Retry-After"] == "20"  # one call every 60/3 seconds
    error = refused.json()["error"]
    assert error["code"] == "rate_limit_exceeded"
    assert error["type"] == "rate_limit_error"

    assert UsageEvent.objects.filter(group=group).count() == 3
    assert get_balance(group.pk) == 10_000_000 - 3 * COST
    assert LedgerEntry.objects.filter(group=group, kind=LedgerKind.USAGE).count() == 3


def test_successful_calls_carry_the_rate_limit_headers(client, group, secret):
    response = post_chat(client, secret, chat_body())
    assert response.status_code == 200
    assert response["x-ratelimit-limit"] == "50"  # tier 0
    assert response["x-ratelimit-remaining"] == "49"
    assert "Retry-After" not in response


def test_streamed_calls_are_limited_too(client, group, secret):
    set_model_limit(group, "sonar", 1)
    first = post_chat(client, secret, chat_body(stream=True))
    assert first.status_code == 200
    assert first["x-ratelimit-remaining"] == "0"
    assert sse_events(first)[-1] == "[DONE]"
    second = post_chat(client, secret, chat_body(stream=True))
    assert second.status_code == 429
    assert second["Retry-After"] == "60"
    assert UsageEvent.objects.filter(group=group).count() == 1


def test_limits_are_per_model_and_follow_the_tier(client, group, secret):
    # Tier 0 allows sonar-deep-research 5 calls a minute, sonar 50.
    deep = chat_body("sonar-deep-research")
    statuses = [post_chat(client, secret, deep).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert post_chat(client, secret, chat_body()).status_code == 200


def test_limits_are_per_group(client, group, secret):
    from tests.factories import GroupFactory

    other = GroupFactory()
    fund(other, "10")
    other_secret = new_secret(other)
    set_model_limit(group, "sonar", 1)
    assert post_chat(client, secret, chat_body()).status_code == 200
    assert post_chat(client, secret, chat_body()).status_code == 429
    assert post_chat(client, other_secret, chat_body()).status_code == 200
