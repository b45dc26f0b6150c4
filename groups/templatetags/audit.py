from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django_countries import countries

from groups.models import ApiGroup
from portal.money import format_money

# Amounts are audited in micro-dollars under names ending like this.
MONEY_SUFFIX = "_micros"
SWITCHES = {"True": "on", "False": "off"}

register = template.Library()


@register.filter
def is_change(value: Any) -> bool:
    """Tell an audited [old, new] pair from a plain detail."""
    return isinstance(value, list) and len(value) == 2


@register.filter
def field_label(name: str) -> str:
    """The human label of an audited field name ("postal_code" -> "Postal code")."""
    name = name.removesuffix(MONEY_SUFFIX)
    try:
        field = ApiGroup._meta.get_field(name)
    except FieldDoesNotExist:
        field = None
    # A reverse relation (say a model limit for a model named "limits") has no label.
    if isinstance(field, models.Field):
        label = str(field.verbose_name)
    else:
        label = name.replace("_", " ")
    return label[:1].upper() + label[1:]


@register.filter
def field_value(value: Any, name: str) -> str:
    """An audited value as people read it: a country's name, dollars, on or off."""
    if name == "country" and value:
        return countries.name(value) or value
    if name.endswith(MONEY_SUFFIX) and str(value).lstrip("-").isdigit():
        return format_money(int(value))
    return SWITCHES.get(str(value), value)
