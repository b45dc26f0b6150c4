"""What the usage page shows, read only from rollups, never from raw events.

Three rollup levels (see usage/models.py) keep every query small whatever the
range: charts read the per-model hourly rollup (or the per-key hourly one when
filtered by a key); the key and model breakdowns read whole UTC days from the
per-key daily rollup and only the partial days at a range's edges from the
hourly one.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apikeys.models import ApiKey
from usage.models import KeyDayRollup, ModelHourRollup, UsageRollup
from usage.ranges import UsageQuery

# The figures every breakdown shows, in display order.
METRICS = ("requests", "input_tokens", "output_tokens", "search_queries", "cost_micros")


@dataclass
class Figures:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    search_queries: int = 0
    cost_micros: int = 0

    def add(self, row: dict) -> None:
        for name in METRICS:
            setattr(self, name, getattr(self, name) + (row.get(name) or 0))


@dataclass
class ModelRow:
    model: str
    figures: Figures


@dataclass
class KeyRow:
    key_id: int
    name: str
    last_four: str
    figures: Figures

    @property
    def display_name(self) -> str:
        return f"{self.name} ({self.last_four})"


@dataclass
class Bucket:
    """One bar of the charts: an hour or a day, with calls and cost per model."""

    start: datetime  # in the user's time zone
    label: str
    requests: dict[str, int] = field(default_factory=dict)
    cost_micros: dict[str, int] = field(default_factory=dict)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def total_cost_micros(self) -> int:
        return sum(self.cost_micros.values())


def _sums(*names: str) -> dict[str, Sum]:
    return {name: Sum(name) for name in names}


def _hourly(group_id: int, query: UsageQuery) -> QuerySet:
    """The hourly rows of the range: per model, or per key and model for one key."""
    rows: QuerySet[UsageRollup] | QuerySet[ModelHourRollup]
    if query.key_id is not None:
        rows = UsageRollup.objects.filter(group_id=group_id, api_key_id=query.key_id)
    else:
        rows = ModelHourRollup.objects.filter(group_id=group_id)
    rows = rows.filter(hour__gte=query.start, hour__lt=query.end)
    return rows.filter(model=query.model) if query.model else rows


def models_used(group_id: int, query: UsageQuery) -> list[str]:
    """Every model the group called in the range, whatever the model filter."""
    rows = ModelHourRollup.objects.filter(
        group_id=group_id, hour__gte=query.start, hour__lt=query.end
    )
    return sorted(rows.values_list("model", flat=True).distinct().order_by())


def models_ever_used(group_id: int) -> set[str]:
    """Every model the group has called, at any time."""
    rows = ModelHourRollup.objects.filter(group_id=group_id)
    return set(rows.values_list("model", flat=True).distinct().order_by())


def has_used_model(group_id: int, model: str) -> bool:
    """Whether the group ever called `model`: one index lookup, not the list."""
    return ModelHourRollup.objects.filter(group_id=group_id, model=model).exists()


def has_usage(group_id: int) -> bool:
    return ModelHourRollup.objects.filter(group_id=group_id).exists()


def usage_by_model(group_id: int, query: UsageQuery) -> list[ModelRow]:
    rows = (
        _hourly(group_id, query)
        .values("model")
        .annotate(**_sums(*METRICS))
        .order_by("model")
    )
    result = []
    for row in rows:
        figures = Figures()
        figures.add(row)
        result.append(ModelRow(row["model"], figures))
    return _by_cost(result)


def total_of(rows: Iterable[ModelRow | KeyRow]) -> Figures:
    total = Figures()
    for row in rows:
        total.add(vars(row.figures))
    return total


def usage_by_key_and_model(
    group_id: int, query: UsageQuery, keys: Iterable[ApiKey] | None = None
) -> tuple[list[KeyRow], list[ModelRow]]:
    """Usage per key and per model, summed from the same key rollup rows.

    Pass the group's `keys` when already loaded, to save a query.
    """
    per_key: dict[int, Figures] = defaultdict(Figures)
    per_model: dict[str, Figures] = defaultdict(Figures)
    for source in _key_sources(group_id, query):
        rows = (
            source.values("api_key_id", "model").annotate(**_sums(*METRICS)).order_by()
        )
        for row in rows:
            per_key[row["api_key_id"]].add(row)
            per_model[row["model"]].add(row)
    if keys is None:
        keys = ApiKey.objects.filter(pk__in=per_key).only("name", "last_four")
    by_key = [
        KeyRow(k.pk, k.name, k.last_four, per_key[k.pk])
        for k in keys
        if k.pk in per_key
    ]
    by_key.sort(key=lambda r: (-r.figures.cost_micros, r.name, r.key_id))
    by_model = [ModelRow(model, figures) for model, figures in per_model.items()]
    return by_key, _by_cost(by_model)


def _key_sources(group_id: int, query: UsageQuery) -> list[QuerySet]:
    """Whole UTC days from the daily rollup, the partial days at the edges hourly."""
    first_whole = query.start.date()
    if query.start.time() != time(0):
        first_whole += timedelta(days=1)
    after_whole = query.end.date()

    hourly = UsageRollup.objects.filter(group_id=group_id)
    daily = KeyDayRollup.objects.filter(group_id=group_id)
    if query.key_id is not None:
        hourly = hourly.filter(api_key_id=query.key_id)
        daily = daily.filter(api_key_id=query.key_id)
    if query.model:
        hourly = hourly.filter(model=query.model)
        daily = daily.filter(model=query.model)

    if first_whole >= after_whole:
        return [hourly.filter(hour__gte=query.start, hour__lt=query.end)]
    sources: list[QuerySet] = [daily.filter(day__gte=first_whole, day__lt=after_whole)]
    # Where local days are UTC days the edges are empty: no query for them.
    edges = Q()
    if query.start < _midnight(first_whole):
        edges |= Q(hour__gte=query.start, hour__lt=_midnight(first_whole))
    if _midnight(after_whole) < query.end:
        edges |= Q(hour__gte=_midnight(after_whole), hour__lt=query.end)
    if edges:
        sources.append(hourly.filter(edges))
    return sources


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def usage_series(group_id: int, query: UsageQuery) -> list[Bucket]:
    """Calls and cost per model for every hour or day of the range, zeros included."""
    buckets = _empty_buckets(query)
    rows = _hourly(group_id, query)
    if query.by_hour:
        rows = rows.values("hour", "model")
    else:
        rows = rows.annotate(day=TruncDate("hour", tzinfo=query.zone)).values(
            "day", "model"
        )
    # Only what the charts draw: the breakdowns come from the key rollups.
    for row in rows.annotate(**_sums("requests", "cost_micros")).order_by():
        position = row["hour"] if query.by_hour else row["day"]
        bucket = buckets.get(position) or _edge_bucket(buckets, position, query)
        model = row["model"]
        bucket.requests[model] = bucket.requests.get(model, 0) + row["requests"]
        bucket.cost_micros[model] = (
            bucket.cost_micros.get(model, 0) + row["cost_micros"]
        )
    return list(buckets.values())


def _by_cost(rows: list[ModelRow]) -> list[ModelRow]:
    return sorted(rows, key=lambda r: (-r.figures.cost_micros, r.model))


def _edge_bucket(buckets: dict, day: date, query: UsageQuery) -> Bucket:
    """The first or last day, for an edge hour that a half-hour zone puts outside."""
    return buckets[query.first_day if day < query.first_day else query.last_day]


def _empty_buckets(query: UsageQuery) -> dict:
    buckets: dict = {}
    if query.by_hour:
        moment = query.start
        while moment < query.end:
            local = timezone.localtime(moment, query.zone)
            buckets[moment] = Bucket(local, f"{local:%b %-d, %H:%M}")
            moment += timedelta(hours=1)
        return buckets
    day = query.first_day
    while day <= query.last_day:
        start = datetime.combine(day, time(0), tzinfo=query.zone)
        buckets[day] = Bucket(start, f"{day:%b %-d}")
        day += timedelta(days=1)
    return buckets


def models_in(series: list[Bucket]) -> list[str]:
    seen: set[str] = set()
    for bucket in series:
        seen.update(bucket.requests)
    return sorted(seen)


def key_usage(key: ApiKey, query: UsageQuery) -> list[ModelRow]:
    """One key's usage per model over the range, for the key's own page."""
    return usage_by_model(
        key.group_id, UsageQuery(**{**vars(query), "key_id": key.pk, "model": ""})
    )


@dataclass
class UsageReport:
    """Everything the usage page and its CSV export show for one query."""

    query: UsageQuery
    series: list[Bucket]
    by_model: list[ModelRow]
    by_key: list[KeyRow]

    @cached_property
    def total(self) -> Figures:
        return total_of(self.by_model)

    @property
    def models(self) -> list[str]:
        return sorted(row.model for row in self.by_model)


def usage_report(
    group_id: int, query: UsageQuery, keys: Iterable[ApiKey] | None = None
) -> UsageReport:
    by_key, by_model = usage_by_key_and_model(group_id, query, keys)
    return UsageReport(
        query=query,
        series=usage_series(group_id, query),
        by_model=by_model,
        by_key=by_key,
    )
