"""Exact money: amounts are integers of micro-units of the currency (1e-6).

A micro-dollar is fine enough to price a single token exactly, and an integer keeps
every sum exact. Cents exist only at the edge with Stripe.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MICROS_PER_UNIT = 1_000_000
MICROS_PER_CENT = 10_000


class MoneyError(ValueError):
    pass


def to_micros(amount: Decimal | str | int) -> int:
    """Convert an amount of currency units to micros; refuse sub-micro digits."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise MoneyError(f"{amount!r} is not an amount") from None
    if not value.is_finite():
        raise MoneyError(f"{amount!r} is not an amount")
    micros = value * MICROS_PER_UNIT
    if micros != micros.to_integral_value():
        raise MoneyError(f"{amount} has more than six decimal places")
    return int(micros)


def from_micros(micros: int) -> Decimal:
    return Decimal(micros) / MICROS_PER_UNIT


def micros_to_cents(micros: int) -> int:
    if micros % MICROS_PER_CENT:
        raise MoneyError(f"{micros} micros is not a whole number of cents")
    return micros // MICROS_PER_CENT


def cents_to_micros(cents: int) -> int:
    return cents * MICROS_PER_CENT


def scale_micros(quantity: int, price_micros: int, per: int) -> int:
    """Price `quantity` units at `price_micros` per `per` units, rounded half up."""
    exact = Decimal(quantity) * Decimal(price_micros) / Decimal(per)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(micros: int, places: int = 2, symbol: str = "$") -> str:
    """Format for people: `$1,234.50`; more places for small usage costs.

    An amount that is not zero never shows as zero: it gets the places it needs
    (a balance of -$0.003010 must not read $0.00).
    """
    exact = from_micros(micros)
    value = exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    while micros and not value and places < 6:
        places += 1
        value = exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    sign = "-" if micros < 0 else ""
    return f"{sign}{symbol}{abs(value):,.{places}f}"
