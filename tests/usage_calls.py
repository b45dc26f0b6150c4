"""Record metered calls the way the API does: a priced UsageEvent through the ledger."""

import itertools
from datetime import datetime

from billing.ledger import debit_usage
from billing.models import ModelPrice
from billing.price_book import DEFAULT_PRICE_BOOK
from billing.pricing import CallQuantities, priced_event
from usage.models import UsageEvent

# The default price book as unsaved rows: tests price calls without reading it.
_PRICES = {entry["model"]: ModelPrice(**entry) for entry in DEFAULT_PRICE_BOOK}
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
    used = CallQuantities(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        search_queries=search_queries,
        search_context_size=context,
    )
    event, _ = priced_event(
        _PRICES[model],
        used,
        group_id=key.group_id,
        api_key=key,
        model=model,
        request_id=f"test-{next(_request_ids)}",
        created_at=at,
    )
    debit_usage(event)
    return event
