from django import template

from portal.money import format_money

register = template.Library()


@register.filter
def money(micros: int | None) -> str:
    """Micros as people read money: `$1,234.50`."""
    return format_money(micros or 0)


@register.filter
def money_precise(micros: int | None) -> str:
    """Micros with enough places for the cost of a single call."""
    value = micros or 0
    return format_money(value, 2 if value % 10_000 == 0 else 6)
