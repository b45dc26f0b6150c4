from django import template

from invoices.formatting import card_label, exact_money, quantity

register = template.Library()


@register.filter
def money(micros: int, currency: str = "usd") -> str:
    return exact_money(micros, currency)


@register.filter
def negative(micros: int) -> int:
    return -micros


@register.filter
def qty(value: int) -> str:
    return quantity(value)


@register.simple_tag
def card(brand: str, last4: str) -> str:
    return card_label(brand, last4)
