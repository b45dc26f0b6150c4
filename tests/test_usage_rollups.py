"""Every debit adds to all three rollup levels, identically, on both write paths."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django.db.models import Count, Sum

from billing.ledger import post_entry
from billing.models import LedgerKind
from portal.money import to_micros
from tests.factories import ApiKeyFactory
from tests.usage_calls import record_call
from usage.models import KeyDayRollup, ModelHourRollup, UsageEvent, UsageRollup

FIELDS = ("input_tokens", "output_tokens", "search_queries", "cost_micros")


def _totals(model, **filters):
    sums = model.objects.filter(**filters).aggregate(
        requests=Sum("requests"), **{f: Sum(f) for f in FIELDS}
    )
    return sums


def _event_totals(**filters):
    sums = UsageEvent.objects.filter(**filters).aggregate(
        requests=Count("id"), **{f: Sum(f) for f in FIELDS}
    )
    return sums


def _assert_rollups_match_events(group):
    expected = _event_totals(group=group)
    assert expected["requests"] > 0
    for rollup in (UsageRollup, ModelHourRollup, KeyDayRollup):
        assert _totals(rollup, group=group) == expected, rollup.__name__


def test_each_call_lands_in_every_rollup(group):
    post_entry(group.pk, LedgerKind.GRANT, to_micros("10"))
    key, other = ApiKeyFactory(group=group), ApiKeyFactory(group=group)
    start = datetime(2026, 5, 1, 22, 30, tzinfo=UTC)
    for i in range(12):
        record_call(
            key if i % 3 else other,
            "sonar" if i % 2 else "sonar-deep-research",
            at=start + timedelta(minutes=25 * i),
            search_queries=i,
            context="low",
        )
    _assert_rollups_match_events(group)
    # 12 calls over five hours and two UTC days, two models, two keys.
    assert ModelHourRollup.objects.filter(group=group).count() <= 12
    assert set(KeyDayRollup.objects.values_list("day", flat=True)) == {
        start.date(),
        start.date() + timedelta(days=1),
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_keep_rollups_exact(postgres, group):
    post_entry(group.pk, LedgerKind.GRANT, to_micros("10"))
    keys = [ApiKeyFactory(group=group) for _ in range(2)]
    moment = datetime(2026, 5, 2, 10, 15, tzinfo=UTC)

    def call(key):
        try:
            for _ in range(10):
                record_call(key, "sonar-pro", at=moment)
        finally:
            connections.close_all()

    for _ in range(3):
        threads = [threading.Thread(target=call, args=(k,)) for k in keys * 3]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    _assert_rollups_match_events(group)
    assert _totals(ModelHourRollup, group=group)["requests"] == 180
