"""Price a finished call, record it and debit it: the one place a call is charged."""

import time
from decimal import Decimal

from billing.ledger import debit_usage
from billing.models import ModelPrice
from billing.pricing import CallCost, CallQuantities, priced_event
from gateway.auth import Caller
from gateway.encoding import dollars
from gateway.schema import ChatRequest
from usage.models import CallStatus


def charge(
    caller: Caller,
    chat: ChatRequest,
    price: ModelPrice,
    used: CallQuantities,
    *,
    request_id: str,
    started: float,
    streamed: bool = False,
    status: str = CallStatus.SUCCEEDED,
) -> CallCost:
    """Record the call as a usage event and debit its cost, in one statement."""
    event, cost = priced_event(
        price,
        used,
        group_id=caller.group_id,
        api_key_id=caller.key_id,
        model=chat.model,
        request_id=request_id,
        status=status,
        streamed=streamed,
        latency_ms=int((time.monotonic() - started) * 1000),
        created_at=caller.at,
    )
    debit_usage(event)
    return cost


def usage_body(price: ModelPrice, used: CallQuantities, cost: CallCost) -> dict:
    """The response's `usage`, with Perplexity's `cost` field names, exact decimals."""
    amounts: dict[str, Decimal] = {
        "input_tokens_cost": dollars(cost.input_micros),
        "output_tokens_cost": dollars(cost.output_micros),
        "request_cost": dollars(cost.request_micros),
        "search_queries_cost": dollars(cost.search_micros),
    }
    if price.citation_per_million_micros or cost.citation_micros:
        amounts["citation_tokens_cost"] = dollars(cost.citation_micros)
    if price.reasoning_per_million_micros or cost.reasoning_micros:
        amounts["reasoning_tokens_cost"] = dollars(cost.reasoning_micros)
    amounts["total_cost"] = dollars(cost.total_micros)
    return {
        "prompt_tokens": used.input_tokens,
        "completion_tokens": used.output_tokens,
        "total_tokens": used.input_tokens + used.output_tokens,
        "citation_tokens": used.citation_tokens,
        "reasoning_tokens": used.reasoning_tokens,
        "num_search_queries": used.search_queries,
        "search_context_size": used.search_context_size,
        "cost": amounts,
    }
