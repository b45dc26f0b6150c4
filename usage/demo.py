"""Demo calls for `make run`: a month of priced usage on the demo group's keys."""

import random
from datetime import timedelta

from django.utils import timezone

from apikeys.models import ApiKey, KeyStatus
from billing import demo as billing_demo
from billing.ledger import debit_usage
from billing.pricing import CallQuantities, price_at, priced_event
from usage.models import ModelHourRollup

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
    billing_demo.seed(group, admin, write)  # the credits come before the calls
    rng = random.Random(20_26)
    now = timezone.now()
    moments = sorted(
        now - timedelta(days=day, seconds=rng.randint(0, 86_399))
        for day in range(DEMO_DAYS, -1, -1)
        for _ in range(rng.randint(*CALLS_PER_DAY))
    )
    # In time order, so that the credit history's running balance reads right.
    count = 0
    for at in (moment for moment in moments if moment <= now):
        model = rng.choices(list(MODEL_WEIGHTS), list(MODEL_WEIGHTS.values()))[0]
        price = price_at(model, at)
        if price is None:
            continue
        event, _ = priced_event(
            price,
            _quantities(rng),
            group_id=group.pk,
            api_key=rng.choice(keys),
            model=model,
            request_id=f"demo-{group.pk}-{at.timestamp():.6f}-{rng.randint(0, 10**9)}",
            latency_ms=rng.randint(300, 4_000),
            created_at=at,
        )
        debit_usage(event)
        count += 1
    write(f"usage: recorded {count} demo calls over {DEMO_DAYS} days")


def _quantities(rng: random.Random) -> CallQuantities:
    """A call of a plausible random size; the price book decides what it costs."""
    output_tokens = rng.randint(100, 1_500)
    queries = rng.randint(1, 3)
    return CallQuantities(
        input_tokens=rng.randint(200, 4_000),
        output_tokens=output_tokens,
        citation_tokens=rng.randint(50, 150) * queries,
        reasoning_tokens=2 * output_tokens,
        search_queries=queries,
        search_context_size=rng.choice(["low", "medium", "high"]),
    )
