"""Concurrent metered calls on PostgreSQL: no debit lost or doubled."""

import threading

import pytest
from django.db import connections
from django.db.models import Sum
from django.test import Client

from billing.ledger import get_balance
from billing.models import LedgerEntry
from limits.services import set_model_limit
from tests.api_helpers import chat_body, fund, new_secret, post_chat, seed_catalog
from tests.factories import GroupFactory
from usage.models import UsageEvent, UsageRollup

pytestmark = pytest.mark.django_db(transaction=True)

COST = 3 + 64 + 5_000  # sonar, "Hello there", low context


def _hammer(secret: str, threads: int, calls: int) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        client = Client()
        try:
            for _ in range(calls):
                status = post_chat(client, secret, chat_body()).status_code
                with lock:
                    statuses.append(status)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return statuses


def _ledger_sum(group) -> int:
    return LedgerEntry.objects.filter(group=group).aggregate(s=Sum("amount_micros"))[
        "s"
    ]


@pytest.mark.parametrize("repeat", range(3))
def test_parallel_calls_are_each_debited_exactly_once(postgres, repeat):
    seed_catalog()
    group = GroupFactory()
    fund(group, "10")
    # 120 calls at once: above tier 0's rate limit, which is not under test here.
    set_model_limit(group, "sonar", 1_000)
    secret = new_secret(group)
    statuses = _hammer(secret, threads=12, calls=10)
    assert statuses == [200] * 120
    assert UsageEvent.objects.filter(group=group).count() == 120
    assert get_balance(group.pk) == 10_000_000 - 120 * COST == _ledger_sum(group)
    assert UsageRollup.objects.get(group=group).requests == 120


@pytest.mark.parametrize("repeat", range(3))
def test_running_out_under_load_refuses_the_rest_and_loses_nothing(postgres, repeat):
    seed_catalog()
    group = GroupFactory()
    fund(group, "0.05")  # enough for ten calls at 5,067 micros, not eleven
    secret = new_secret(group)
    statuses = _hammer(secret, threads=8, calls=6)
    succeeded = statuses.count(200)
    assert set(statuses) <= {200, 402}
    # Calls admitted while the balance was positive are all charged; the overshoot
    # is bounded by the calls in flight when it ran out.
    assert 10 <= succeeded <= 10 + 8
    assert UsageEvent.objects.filter(group=group).count() == succeeded
    assert get_balance(group.pk) == 50_000 - succeeded * COST == _ledger_sum(group)
    assert get_balance(group.pk) > -8 * COST
