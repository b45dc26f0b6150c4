from django import template

from portal.money import format_money

register = template.Library()


@register.filter
def money(micros: int | None) -> str:
    """Credits for people: `$1,234.50`."""
    return format_money(micros or 0)
