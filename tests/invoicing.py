"""Usage and payments for invoice tests, made the way the product makes them."""

from datetime import datetime
from itertools import count

from billing.ledger import debit_usage, post_entry
from billing.models import LedgerKind
from usage.models import UsageEvent

_request_ids = count(1)


def use_api(
    key,
    model: str,
    at: datetime,
    *,
    input_tokens: int = 1000,
    output_tokens: int = 500,
    search_queries: int = 0,
    citation_tokens: int = 0,
    reasoning_tokens: int = 0,
    input_cost: int = 3_000,
    output_cost: int = 7_500,
    request_cost: int = 10_000,
    search_cost: int = 0,
) -> UsageEvent:
    """Record one priced call at `at` and debit it, as the metered API does."""
    event = UsageEvent(
        group_id=key.group_id,
        api_key=key,
        model=model,
        request_id=f"req-{next(_request_ids)}",
        search_context_size="medium",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        search_queries=search_queries,
        citation_tokens=citation_tokens,
        reasoning_tokens=reasoning_tokens,
        input_cost_micros=input_cost,
        output_cost_micros=output_cost,
        request_cost_micros=request_cost,
        search_cost_micros=search_cost,
        cost_micros=input_cost + output_cost + request_cost + search_cost,
        created_at=at,
    )
    debit_usage(event)
    return event


def buy_credits(group, amount_micros: int, kind: str = LedgerKind.PURCHASE):
    entry, _ = post_entry(group.pk, kind, amount_micros, actor_label="test")
    return entry
