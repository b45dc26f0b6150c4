from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist
from django_countries import countries

from groups.models import ApiGroup

register = template.Library()


@register.filter
def is_change(value: Any) -> bool:
    """Tell an audited [old, new] pair from a plain detail."""
    return isinstance(value, list) and len(value) == 2


@register.filter
def field_label(name: str) -> str:
    """The human label of an audited field name ("postal_code" -> "Postal code")."""
    try:
        label = str(ApiGroup._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        label = name.replace("_", " ")
    return label[:1].upper() + label[1:]


@register.filter
def field_value(value: Any, name: str) -> str:
    """An audited value as people read it (a country's name, not its code)."""
    if name == "country" and value:
        return countries.name(value) or value
    return value
