from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist

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
