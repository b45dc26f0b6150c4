from django.db import models
from django.db.models import Q

from apikeys.models import ApiKey
from groups.models import ApiGroup


class SearchContextSize(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class CallStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    # The client went away during a stream; what was generated is still charged.
    CLIENT_DISCONNECTED = "client_disconnected", "Client disconnected"


class UsageEvent(models.Model):
    """One metered API call, priced when it ended. Amounts are integer micros.

    Written once, in the same transaction as its ledger debit; never edited.
    """

    # Every index is written on every metered call: the group's is the leading
    # column of the (group, created_at) index, so it needs none of its own.
    group = models.ForeignKey(
        ApiGroup, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, related_name="usage_events"
    )
    model = models.CharField(max_length=64)
    request_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=24, choices=CallStatus.choices, default=CallStatus.SUCCEEDED
    )
    streamed = models.BooleanField(default=False)
    search_context_size = models.CharField(
        max_length=8, choices=SearchContextSize.choices, blank=True
    )
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    citation_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    search_queries = models.PositiveIntegerField(default=0)
    # Costs in micros of the portal currency, each rounded half up on its own;
    # cost_micros is their sum.
    input_cost_micros = models.BigIntegerField(default=0)
    output_cost_micros = models.BigIntegerField(default=0)
    citation_cost_micros = models.BigIntegerField(default=0)
    reasoning_cost_micros = models.BigIntegerField(default=0)
    request_cost_micros = models.BigIntegerField(default=0)
    search_cost_micros = models.BigIntegerField(default=0)
    cost_micros = models.BigIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["group", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(cost_micros__gte=0), name="usage_cost_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(
                    cost_micros=models.F("input_cost_micros")
                    + models.F("output_cost_micros")
                    + models.F("citation_cost_micros")
                    + models.F("reasoning_cost_micros")
                    + models.F("request_cost_micros")
                    + models.F("search_cost_micros")
                ),
                name="usage_cost_is_sum_of_parts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} call {self.request_id}"


# The sums dashboards read. Their indexes carry them as trailing columns, so that
# a range is read by an index-only scan of one group's rows rather than a table
# page per row (rollup rows of a group are scattered over the whole table).
DASHBOARD_SUMS = [
    "requests",
    "input_tokens",
    "output_tokens",
    "search_queries",
    "cost_micros",
]


class UsageRollup(models.Model):
    """Usage summed per group, key, model and hour (UTC); what dashboards read."""

    # Rewritten on every metered call, so no index of its own for either: the
    # unique constraint leads with the group, the covering index with the key.
    group = models.ForeignKey(
        ApiGroup, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    model = models.CharField(max_length=64)
    hour = models.DateTimeField()
    requests = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    citation_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    search_queries = models.BigIntegerField(default=0)
    cost_micros = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "hour", "api_key", "model"], name="one_rollup_per_hour"
            ),
        ]
        indexes = [
            models.Index(
                fields=["api_key", "hour", "model", *DASHBOARD_SUMS],
                name="usage_rollup_key_hour_sums",
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.hour:%Y-%m-%d %H}:00"


class RollupSums(models.Model):
    """The sums every rollup keeps; cost is integer micros of the portal currency."""

    requests = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    citation_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    search_queries = models.BigIntegerField(default=0)
    cost_micros = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class ModelHourRollup(RollupSums):
    """Usage summed per group, model and hour (UTC), all keys together.

    The dashboard's charts and the overview's totals read it: a group has at
    most 24 rows a day per model, however many keys it has. Written with each
    debit.
    """

    # The unique index leads with the group: no separate index for it.
    group = models.ForeignKey(
        ApiGroup, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    model = models.CharField(max_length=64)
    hour = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "hour", "model"], name="one_model_rollup_per_hour"
            ),
        ]
        indexes = [
            models.Index(
                fields=["group", "hour", "model", *DASHBOARD_SUMS],
                name="model_rollup_hour_sums",
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.hour:%Y-%m-%d %H}:00"


class KeyDayRollup(RollupSums):
    """Usage summed per group, key, model and day (UTC).

    The key and model breakdowns read whole UTC days here and the partial days
    at the edges of a range from the hourly rollup, so long ranges stay cheap.
    Written with each debit.
    """

    group = models.ForeignKey(
        ApiGroup, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=64)
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "day", "api_key", "model"],
                name="one_key_rollup_per_day",
            ),
        ]
        indexes = [
            models.Index(
                fields=["group", "day", "api_key", "model", *DASHBOARD_SUMS],
                name="key_rollup_day_sums",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.day:%Y-%m-%d}"
