"""Record metered calls the way the API does: a priced UsageEvent through the ledger."""

import itertools
from datetime import datetime

from billing.ledger import debit_usage
from billing.price_book import DEFAULT_PRICE_BOOK
from portal.money import scale_micros
from usage.models import UsageEvent

_PRICES = {entry["model"]: entry for entry in DEFAULT_PRICE_BOOK}
_request_ids = itertools.count(1)


def record_call(
    key,
    model: str = "sonar-pro",
    *,
    at: datetime | None = None,
    input_tokens: int = 1000,
    output_tokens: int = 500,
    search_queries: int = 0,
    context: str = "medium",
) -> UsageEvent:
    """Price a call with the default price book and debit it; return the event."""
    price = _PRICES[model]
    request_fee = price.get(f"request_{context}_per_thousand_micros")
    event = UsageEvent(
        group_id=key.group_id,
        api_key=key,
        model=model,
        request_id=f"test-{next(_request_ids)}",
        search_context_size=context if request_fee else "",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        search_queries=search_queries,
        input_cost_micros=scale_micros(
            input_tokens, price["input_per_million_micros"], 1_000_000
        ),
        output_cost_micros=scale_micros(
            output_tokens, price["output_per_million_micros"], 1_000_000
        ),
        request_cost_micros=scale_micros(1, request_fee or 0, 1000),
        search_cost_micros=scale_micros(
            search_queries, price.get("search_query_per_thousand_micros", 0), 1000
        ),
        created_at=at,
    )
    event.cost_micros = (
        event.input_cost_micros
        + event.output_cost_micros
        + event.request_cost_micros
        + event.search_cost_micros
    )
    debit_usage(event)
    return event
