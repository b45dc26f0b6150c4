"""What a call costs: the price book row effective at the call's time, applied exactly.

Every component is priced on its own with `scale_micros` (rounded half up to the
micro) and the total is their sum, so the parts on a usage event always add up.

The price book is small and read on every metered call, so each process keeps a copy
and reloads it every `REFRESH_SECONDS`. That stays exact because a price change is a
new row that takes effect no sooner than `CHANGE_LEAD` from when it is added (the
admin enforces it): every process has loaded it before its first call at that price.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from billing.models import ModelPrice
from portal.money import scale_micros
from usage.models import UsageEvent

REFRESH_SECONDS = 60
CHANGE_LEAD = timedelta(seconds=2 * REFRESH_SECONDS)

PER_MILLION = 1_000_000
PER_THOUSAND = 1_000


@dataclass(frozen=True)
class CallQuantities:
    """What one call consumed, as the backend reported it."""

    input_tokens: int = 0
    output_tokens: int = 0
    citation_tokens: int = 0
    reasoning_tokens: int = 0
    search_queries: int = 0
    # low, medium or high: picks the per-request fee.
    search_context_size: str = "low"


@dataclass(frozen=True)
class CallCost:
    """Micros of the portal currency, per component."""

    input_micros: int = 0
    output_micros: int = 0
    citation_micros: int = 0
    reasoning_micros: int = 0
    request_micros: int = 0
    search_micros: int = 0

    @property
    def total_micros(self) -> int:
        return (
            self.input_micros
            + self.output_micros
            + self.citation_micros
            + self.reasoning_micros
            + self.request_micros
            + self.search_micros
        )


def request_fee_per_thousand(price: ModelPrice, search_context_size: str) -> int:
    fee = getattr(price, f"request_{search_context_size}_per_thousand_micros", None)
    return fee or 0


def price_call(price: ModelPrice, used: CallQuantities) -> CallCost:
    """Price one call with `price`, each component rounded half up to the micro."""
    return CallCost(
        input_micros=scale_micros(
            used.input_tokens, price.input_per_million_micros, PER_MILLION
        ),
        output_micros=scale_micros(
            used.output_tokens, price.output_per_million_micros, PER_MILLION
        ),
        citation_micros=scale_micros(
            used.citation_tokens, price.citation_per_million_micros, PER_MILLION
        ),
        reasoning_micros=scale_micros(
            used.reasoning_tokens, price.reasoning_per_million_micros, PER_MILLION
        ),
        request_micros=scale_micros(
            1, request_fee_per_thousand(price, used.search_context_size), PER_THOUSAND
        ),
        search_micros=scale_micros(
            used.search_queries, price.search_query_per_thousand_micros, PER_THOUSAND
        ),
    )


def priced_event(
    price: ModelPrice, used: CallQuantities, **fields
) -> tuple[UsageEvent, CallCost]:
    """An unsaved usage event for a call priced with `price`, and its cost.

    `fields` carries who made the call and when (group_id, api_key or api_key_id,
    model, request_id, created_at...): everything but quantities and costs.
    """
    cost = price_call(price, used)
    event = UsageEvent(
        search_context_size=used.search_context_size,
        input_tokens=used.input_tokens,
        output_tokens=used.output_tokens,
        citation_tokens=used.citation_tokens,
        reasoning_tokens=used.reasoning_tokens,
        search_queries=used.search_queries,
        input_cost_micros=cost.input_micros,
        output_cost_micros=cost.output_micros,
        citation_cost_micros=cost.citation_micros,
        reasoning_cost_micros=cost.reasoning_micros,
        request_cost_micros=cost.request_micros,
        search_cost_micros=cost.search_micros,
        cost_micros=cost.total_micros,
        **fields,
    )
    return event, cost


class _PriceBook:
    """Each model's price rows, newest first, reloaded every REFRESH_SECONDS."""

    def __init__(self) -> None:
        self.rows: dict[str, list[ModelPrice]] = {}
        self.loaded_at = float("-inf")

    def rows_for(self, model: str) -> list[ModelPrice]:
        if time.monotonic() - self.loaded_at > REFRESH_SECONDS:
            self.load()
        return self.rows.get(model, [])

    def load(self) -> None:
        rows: dict[str, list[ModelPrice]] = {}
        for price in ModelPrice.objects.order_by("model", "-effective_from"):
            rows.setdefault(price.model, []).append(price)
        self.rows, self.loaded_at = rows, time.monotonic()

    def forget(self) -> None:
        self.loaded_at = float("-inf")


_book = _PriceBook()


def price_at(model: str, at: datetime) -> ModelPrice | None:
    """The price row of `model` in effect at `at`, or None if it has none."""
    for price in _book.rows_for(model):
        if price.effective_from <= at:
            return price
    return None


def forget_price_book() -> None:
    """Make this process reload the price book on its next lookup."""
    _book.forget()
