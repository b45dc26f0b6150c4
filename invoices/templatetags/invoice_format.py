from typing import Any

from django import template

from invoices.formatting import card_label, exact_money, quantity

register = template.Library()


@register.filter
def money(micros: int, document: Any = "usd") -> str:
    """Format micros in a currency code, or as a document's amounts all read."""
    if isinstance(document, str):
        return exact_money(micros, document)
    return exact_money(micros, document.currency, document.money_places)


@register.filter
def negative(micros: int) -> int:
    return -micros


@register.filter
def qty(value: int) -> str:
    return quantity(value)


@register.simple_tag
def card(brand: str, last4: str) -> str:
    return card_label(brand, last4)
