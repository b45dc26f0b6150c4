import re
import threading
import time
from decimal import Decimal

import pytest
from django.db import IntegrityError, connections
from django.db.models import Sum

from billing.ledger import LedgerError, debit_usage, get_balance, post_entry
from billing.models import BillingAccount, LedgerEntry, LedgerKind
from portal.money import to_micros
from tests.factories import ApiKeyFactory
from usage.models import UsageEvent, UsageRollup


def _event(key, cost_micros: int, request_id: str) -> UsageEvent:
    return UsageEvent(
        group_id=key.group_id,
        api_key=key,
        model="sonar-pro",
        request_id=request_id,
        input_tokens=1000,
        output_tokens=500,
        input_cost_micros=cost_micros,
        cost_micros=cost_micros,
    )


def _ledger_sum(group_id: int) -> int:
    total = LedgerEntry.objects.filter(group_id=group_id).aggregate(
        s=Sum("amount_micros")
    )
    return total["s"] or 0


def test_grant_moves_balance_and_records_entry(group):
    entry, move = post_entry(
        group.pk, LedgerKind.GRANT, to_micros("25.00"), note="welcome"
    )
    assert (move.before_micros, move.after_micros) == (0, 25_000_000)
    assert entry.balance_after_micros == 25_000_000
    assert get_balance(group.pk) == 25_000_000 == _ledger_sum(group.pk)


def test_purchases_count_towards_lifetime_but_grants_do_not(group):
    post_entry(group.pk, LedgerKind.GRANT, to_micros("10"))
    post_entry(group.pk, LedgerKind.PURCHASE, to_micros("50"))
    account = BillingAccount.objects.get(group=group)
    assert account.lifetime_purchased_micros == 50_000_000
    assert account.balance_micros == 60_000_000


def test_correction_that_would_go_negative_changes_nothing(group):
    post_entry(group.pk, LedgerKind.GRANT, to_micros("5"))
    with pytest.raises(LedgerError, match="negative"):
        post_entry(
            group.pk,
            LedgerKind.ADJUSTMENT,
            -to_micros("6"),
            allow_negative_balance=False,
        )
    assert get_balance(group.pk) == 5_000_000
    assert LedgerEntry.objects.filter(group=group).count() == 1


def test_ledger_entries_cannot_be_edited(group):
    entry, _ = post_entry(group.pk, LedgerKind.GRANT, 1)
    entry.amount_micros = 2
    with pytest.raises(ValueError, match="append-only"):
        entry.save()


def test_debit_usage_records_event_entry_rollup_and_balance(group):
    post_entry(group.pk, LedgerKind.GRANT, to_micros("1"))
    key = ApiKeyFactory(group=group)
    move = debit_usage(_event(key, 20_500, "req-1"))
    assert move.after_micros == 1_000_000 - 20_500
    event = UsageEvent.objects.get(request_id="req-1")
    entry = LedgerEntry.objects.get(usage_event=event)
    assert entry.kind == LedgerKind.USAGE
    assert entry.amount_micros == -20_500
    assert entry.balance_after_micros == move.after_micros
    rollup = UsageRollup.objects.get(api_key=key)
    assert (rollup.requests, rollup.cost_micros, rollup.input_tokens) == (
        1,
        20_500,
        1000,
    )
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert get_balance(group.pk) == _ledger_sum(group.pk)


def test_debit_may_overshoot_below_zero_by_the_call_in_flight(group):
    post_entry(group.pk, LedgerKind.GRANT, 10_000)
    key = ApiKeyFactory(group=group)
    move = debit_usage(_event(key, 20_500, "req-over"))
    assert move.after_micros == -10_500
    assert get_balance(group.pk) == _ledger_sum(group.pk) == -10_500


def test_a_request_id_is_debited_once(group):
    post_entry(group.pk, LedgerKind.GRANT, to_micros("1"))
    key = ApiKeyFactory(group=group)
    debit_usage(_event(key, 100, "req-dup"))
    with pytest.raises(IntegrityError):
        debit_usage(_event(key, 100, "req-dup"))
    assert get_balance(group.pk) == 1_000_000 - 100 == _ledger_sum(group.pk)


@pytest.mark.django_db(transaction=True)
def test_parallel_debits_lose_nothing(postgres):
    from tests.factories import GroupFactory

    group = GroupFactory()
    post_entry(group.pk, LedgerKind.GRANT, to_micros("1"))
    key = ApiKeyFactory(group=group)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                debit_usage(_event(key, 1_234, f"req-{n}-{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert get_balance(group.pk) == 1_000_000 - 100 * 1_234 == _ledger_sum(group.pk)
    rollup = UsageRollup.objects.get(api_key=key)
    assert rollup.requests == 100
    assert rollup.cost_micros == 100 * 1_234
    balances = sorted(
        LedgerEntry.objects.filter(kind=LedgerKind.USAGE).values_list(
            "balance_after_micros", flat=True
        )
    )
    # Each debit saw the one before it: the running balances are all distinct.
    assert len(set(balances)) == 100
    assert Decimal(balances[0]) == Decimal(1_000_000 - 100 * 1_234)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_fifty_parallel_calls_overshoot_by_calls_in_flight_at_most(postgres, round_):
    """Calls are admitted while the balance is positive and debited in full when
    they end: the balance goes below zero by at most the cost of the calls that
    were in flight when it ran out, and every debit is kept."""
    from billing.ledger import has_credits
    from tests.factories import GroupFactory

    cost = 20_500
    group = GroupFactory()
    post_entry(group.pk, LedgerKind.GRANT, 10 * cost)
    key = ApiKeyFactory(group=group)
    lock = threading.Lock()
    state = {"in_flight": 0, "max_in_flight": 0, "admitted": 0, "refused": 0}
    errors: list[BaseException] = []

    def call(n: int) -> None:
        try:
            # A call is in flight from its arrival, before the admission check.
            with lock:
                state["in_flight"] += 1
                state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
            admitted = has_credits(group.pk)
            if admitted:
                time.sleep(0.002)  # the model answers; the cost is known at the end
                debit_usage(_event(key, cost, f"call-{round_}-{n}"))
            with lock:
                state["in_flight"] -= 1
                state["admitted" if admitted else "refused"] += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    admitted = state["admitted"]
    assert admitted + state["refused"] == 50
    assert admitted >= 10
    balance = get_balance(group.pk)
    # Nothing lost: every admitted call is one event, one debit, in the balance.
    assert balance == 10 * cost - admitted * cost == _ledger_sum(group.pk)
    assert UsageEvent.objects.filter(group=group).count() == admitted
    # The documented bound: beyond the 10 calls paid for, only calls that were
    # already in flight when the credits ran out were charged.
    assert admitted - 10 <= state["max_in_flight"] - 1
    assert -balance <= (state["max_in_flight"] - 1) * cost
    # And once out, the next call is refused.
    assert not has_credits(group.pk)


@pytest.mark.django_db(transaction=True)
def test_overshoot_is_exactly_the_calls_in_flight_when_credits_ran_out(postgres):
    """Twelve calls admitted together against credits for ten: all twelve are
    charged in full (two calls' worth below zero); every later call is refused."""
    from billing.ledger import has_credits
    from tests.factories import GroupFactory

    cost = 20_500
    group = GroupFactory()
    post_entry(group.pk, LedgerKind.GRANT, 10 * cost)
    key = ApiKeyFactory(group=group)
    admitted_together = threading.Barrier(12)
    admitted: list[bool] = []

    def call(n: int) -> None:
        try:
            admitted.append(has_credits(group.pk))
            admitted_together.wait()
            debit_usage(_event(key, cost, f"flight-{n}"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert admitted == [True] * 12
    assert get_balance(group.pk) == -2 * cost == _ledger_sum(group.pk)
    later = [has_credits(group.pk) for _ in range(38)]
    assert later == [False] * 38


def test_the_debit_statement_stays_within_psycopgs_parse_cache():
    # Longer statements are parsed again on every call: half a millisecond of CPU
    # on each metered API call.
    from psycopg import _queries

    from billing import ledger

    assert len(ledger._STATEMENT) <= _queries.MAX_CACHED_STATEMENT_LENGTH
    placeholders = set(re.findall(r"%\((\w+)\)s", ledger._STATEMENT))
    assert len(placeholders) <= _queries.MAX_CACHED_STATEMENT_PARAMS
