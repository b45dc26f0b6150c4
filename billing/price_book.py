"""The default price book a fresh installation starts with (public list prices, USD)."""

from portal.money import to_micros


def _usd(amount: str) -> int:
    return to_micros(amount)


DEFAULT_PRICE_BOOK = [
    {
        "model": "sonar",
        "input_per_million_micros": _usd("1"),
        "output_per_million_micros": _usd("1"),
        "request_low_per_thousand_micros": _usd("5"),
        "request_medium_per_thousand_micros": _usd("8"),
        "request_high_per_thousand_micros": _usd("12"),
    },
    {
        "model": "sonar-pro",
        "input_per_million_micros": _usd("3"),
        "output_per_million_micros": _usd("15"),
        "request_low_per_thousand_micros": _usd("6"),
        "request_medium_per_thousand_micros": _usd("10"),
        "request_high_per_thousand_micros": _usd("14"),
    },
    {
        "model": "sonar-reasoning-pro",
        "input_per_million_micros": _usd("2"),
        "output_per_million_micros": _usd("8"),
        "request_low_per_thousand_micros": _usd("6"),
        "request_medium_per_thousand_micros": _usd("10"),
        "request_high_per_thousand_micros": _usd("14"),
    },
    {
        "model": "sonar-deep-research",
        "input_per_million_micros": _usd("2"),
        "output_per_million_micros": _usd("8"),
        "citation_per_million_micros": _usd("2"),
        "reasoning_per_million_micros": _usd("3"),
        "search_query_per_thousand_micros": _usd("5"),
    },
]
