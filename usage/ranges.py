"""The usage page's query parameters: a date range, a model and a key.

Shared with the keys and invoices pages: `range` (today | 7d | 30d | this_month |
last_month | custom), `start` and `end` (YYYY-MM-DD, inclusive, with range=custom),
`model` and `key` (an ApiKey id). Dates are days in the user's time zone; the
range resolves to an instant interval in UTC, which is how usage is stored.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from urllib.parse import urlencode

from django.utils import timezone

PRESETS = {
    "today": "Today",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "this_month": "This month",
    "last_month": "Last month",
    "custom": "Custom range",
}
DEFAULT_PRESET = "30d"
# Ranges up to this many days are charted by hour, longer ones by day.
HOURLY_UP_TO_DAYS = 2
MAX_CUSTOM_DAYS = 400


class RangeError(ValueError):
    """A query parameter the page cannot use; the message is shown to the user."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class UsageQuery:
    preset: str
    first_day: date  # inclusive, in the user's time zone
    last_day: date  # inclusive
    zone: tzinfo
    model: str = ""
    key_id: int | None = None

    @property
    def start(self) -> datetime:
        """The range's first instant, in UTC, on a whole hour (rollups are hourly)."""
        return local_midnight_utc(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        """The instant just after the range, in UTC, on a whole hour."""
        return local_midnight_utc(self.last_day + timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def by_hour(self) -> bool:
        return self.days <= HOURLY_UP_TO_DAYS

    @property
    def label(self) -> str:
        if self.first_day == self.last_day:
            return f"{self.first_day:%b %-d, %Y}"
        return f"{self.first_day:%b %-d, %Y} to {self.last_day:%b %-d, %Y}"

    def params(self, **changes: object) -> dict[str, str]:
        """The query parameters that reproduce this query, with `changes` applied."""
        values: dict[str, object] = {"range": self.preset}
        if self.preset == "custom":
            values["start"] = self.first_day.isoformat()
            values["end"] = self.last_day.isoformat()
        values["model"] = self.model
        values["key"] = self.key_id or ""
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in ("", None)}

    def querystring(self, **changes: object) -> str:
        return urlencode(self.params(**changes))


def parse_usage_query(
    params: Mapping[str, str], today: date | None = None
) -> UsageQuery:
    """Read the page's parameters; raise RangeError with a message for people."""
    zone = timezone.get_current_timezone()
    today = today or timezone.localdate(timezone=zone)
    preset = params.get("range") or DEFAULT_PRESET
    if preset not in PRESETS:
        raise RangeError(
            f"Unknown range {preset[:20]!r}: choose one of the presets.", "range"
        )
    start, end = params.get("start", ""), params.get("end", "")
    if preset == "custom":
        first, last = _custom_days(start, end)
    elif start or end:
        raise RangeError(
            "Dates apply to a custom range only: choose Custom in Range, or "
            "clear the dates.",
            "start" if start else "end",
        )
    else:
        first, last = preset_days(preset, today)
    return UsageQuery(
        preset=preset,
        first_day=first,
        last_day=last,
        zone=zone,
        model=(params.get("model") or "").strip()[:64],
        key_id=_key_id(params.get("key", "")),
    )


def preset_days(preset: str, today: date) -> tuple[date, date]:
    if preset == "today":
        return today, today
    if preset == "7d":
        return today - timedelta(days=6), today
    if preset == "30d":
        return today - timedelta(days=29), today
    first_of_month = today.replace(day=1)
    if preset == "this_month":
        return first_of_month, today
    last_of_previous = first_of_month - timedelta(days=1)
    return last_of_previous.replace(day=1), last_of_previous


def _custom_days(start: str, end: str) -> tuple[date, date]:
    first = _parse_day(start, "start")
    last = _parse_day(end, "end")
    if last < first:
        raise RangeError("The end date is before the start date.", "end")
    if (last - first).days + 1 > MAX_CUSTOM_DAYS:
        raise RangeError(
            f"A custom range spans at most {MAX_CUSTOM_DAYS} days.", "start"
        )
    return first, last


def _parse_day(value: str, name: str) -> date:
    if not value:
        raise RangeError(f"A custom range needs a {name} date.", name)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RangeError(
            f"The {name} date {value[:20]!r} is not a date like 2026-01-31.", name
        ) from None


def _key_id(value: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise RangeError("That key filter is not a key of this group.", "key")
    return int(value)


def local_midnight_utc(day: date, zone: tzinfo) -> datetime:
    """The UTC instant of midnight starting `day` in `zone`, floored to the hour.

    Rollups are hourly in UTC, so in zones whose offset is not whole hours
    (India, Nepal) a day's edges are taken to the whole UTC hour before them.
    """
    local = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    return local.replace(minute=0, second=0, microsecond=0)
