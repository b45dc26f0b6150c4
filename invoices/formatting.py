"""How amounts and cards read on invoices: exact to the micro, never rounded away."""

from decimal import Decimal

from django_countries import countries

from portal.money import from_micros

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}

_CARD_BRANDS = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


def currency_prefix(currency: str) -> str:
    return _SYMBOLS.get(currency.lower(), f"{currency.upper()} ")


def places_for(micros: int) -> int:
    """The decimals it takes to show an amount exactly; at least cents."""
    return max(2, -_exponent(from_micros(micros)))


def exact_money(micros: int, currency: str = "usd", places: int | None = None) -> str:
    """`$1,234.50`, or as many decimals as it takes: `$0.0205`, never a rounded sum.

    Invoice lines must visibly add up to the total, so no amount is rounded;
    `places` asks for more decimals, to line up a column, never for fewer.
    """
    value = from_micros(micros)
    places = max(places or 0, places_for(micros))
    text = f"{abs(value):,.{places}f}"
    sign = "-" if value < 0 else ""
    return f"{sign}{currency_prefix(currency)}{text}"


def quantity(value: int) -> str:
    return f"{value:,}"


def card_label(brand: str, last4: str) -> str:
    """`Visa ending in 4242`, or an empty string without a card on record."""
    if not last4:
        return ""
    name = _CARD_BRANDS.get(brand.lower(), brand.title() or "Card")
    return f"{name} ending in {last4}"


def country_named(address_lines: list[str]) -> list[str]:
    """Spell out a last line that is a country code ("US"), as buyers' countries are.

    The seller's address comes from a setting written by hand; a code there would
    sit oddly beside the buyer's country, which is always named.
    """
    if address_lines:
        name = countries.name(address_lines[-1].strip().upper())
        if name:
            return [*address_lines[:-1], str(name)]
    return address_lines


def _exponent(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0
