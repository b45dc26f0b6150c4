import re
from datetime import datetime
from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django_countries import countries

from groups.audit_labels import value_label
from groups.models import ApiGroup
from portal.money import MICROS_PER_CENT, format_money

# Amounts are audited in micro-dollars under names ending like this.
MONEY_SUFFIX = "_micros"
SWITCHES = {"True": "on", "False": "off"}
# Times are audited as ISO 8601 text: "2026-05-01T12:00:00+00:00".
ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")

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
    """An audited value as people read it: names, dollars, labels, local times."""
    if name == "country" and value:
        return countries.name(value) or value
    if name.endswith(MONEY_SUFFIX) and str(value).lstrip("-").isdigit():
        return _exact_money(int(value))
    label = value_label(name, value)
    if label is not None:
        return label
    moment = _timestamp(value)
    if moment is not None:
        return date_format(timezone.localtime(moment), "j M Y, H:i")
    return SWITCHES.get(str(value), value)


def _exact_money(micros: int) -> str:
    # The log shows what was recorded: cents when whole, else every micro.
    return format_money(micros, 2 if micros % MICROS_PER_CENT == 0 else 6)


def _timestamp(value: Any) -> datetime | None:
    """An aware datetime from an ISO 8601 timestamp string, else None."""
    if not isinstance(value, str) or not ISO_TIMESTAMP.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else None
