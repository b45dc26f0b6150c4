"""Demo calls for `make run`: a month of priced usage on the demo group's keys."""

import random
from datetime import timedelta

from django.utils import timezone

from apikeys.models import ApiKey, KeyStatus
from billing.ledger import debit_usage
from billing.price_book import DEFAULT_PRICE_BOOK
from portal.money import scale_micros
from usage.models import ModelHourRollup, UsageEvent

DEMO_DAYS = 30
CALLS_PER_DAY = (4, 18)
MODEL_WEIGHTS = {
    "sonar": 5,
    "sonar-pro": 3,
    "sonar-reasoning-pro": 1,
    "sonar-deep-research": 1,
}


def seed(group, admin, write) -> None:
    """Record calls once; a group that already has usage is left alone."""
    if ModelHourRollup.objects.filter(group=group).exists():
        write("usage: the demo group already has calls")
        return
    keys = list(ApiKey.objects.filter(group=group, status=KeyStatus.ACTIVE))
    if not keys:
        write("usage: the demo group has no API keys yet; no demo calls recorded")
        return
    rng = random.Random(20_26)
    prices = {entry["model"]: entry for entry in DEFAULT_PRICE_BOOK}
    now = timezone.now()
    count = 0
    for day in range(DEMO_DAYS, -1, -1):
        for _ in range(rng.randint(*CALLS_PER_DAY)):
            at = now - timedelta(days=day, seconds=rng.randint(0, 86_399))
            if at > now:
                continue
            model = rng.choices(list(MODEL_WEIGHTS), list(MODEL_WEIGHTS.values()))[0]
            debit_usage(_priced_event(group, rng.choice(keys), prices[model], at, rng))
            count += 1
    write(f"usage: recorded {count} demo calls over {DEMO_DAYS} days")


def _priced_event(group, key, price: dict, at, rng) -> UsageEvent:
    input_tokens = rng.randint(200, 4_000)
    output_tokens = rng.randint(100, 1_500)
    searches = (
        rng.randint(1, 20) if price.get("search_query_per_thousand_micros", 0) else 0
    )
    context = rng.choice(["low", "medium", "high"])
    request_fee = price.get(f"request_{context}_per_thousand_micros")
    event = UsageEvent(
        group=group,
        api_key=key,
        model=price["model"],
        request_id=f"demo-{group.pk}-{at.timestamp():.6f}-{rng.randint(0, 10**9)}",
        search_context_size=context if request_fee else "",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        search_queries=searches,
        input_cost_micros=scale_micros(
            input_tokens, price["input_per_million_micros"], 1_000_000
        ),
        output_cost_micros=scale_micros(
            output_tokens, price["output_per_million_micros"], 1_000_000
        ),
        request_cost_micros=scale_micros(1, request_fee or 0, 1_000),
        search_cost_micros=scale_micros(
            searches, price.get("search_query_per_thousand_micros", 0), 1_000
        ),
        latency_ms=rng.randint(300, 4_000),
        created_at=at,
    )
    event.cost_micros = (
        event.input_cost_micros
        + event.output_cost_micros
        + event.request_cost_micros
        + event.search_cost_micros
    )
    return event
