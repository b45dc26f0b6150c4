from django.db import models
from django.db.models import Q

from groups.models import ApiGroup


class Tier(models.Model):
    """A usage tier, reached by total credits ever bought. Operators edit the table."""

    number = models.PositiveSmallIntegerField(unique=True)
    # Micros of the portal currency ever bought (purchases and top-ups) to reach it.
    min_purchased_micros = models.BigIntegerField(unique=True)
    # Requests per minute for a model the tier has no row for (a newly added model).
    default_requests_per_minute = models.PositiveIntegerField()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_purchased_micros__gte=0),
                name="tier_threshold_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(default_requests_per_minute__gt=0),
                name="tier_default_rpm_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Tier {self.number}"


class TierModelLimit(models.Model):
    """Requests per minute one tier allows for one model."""

    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="limits")
    model = models.CharField(max_length=64)
    requests_per_minute = models.PositiveIntegerField()

    class Meta:
        ordering = ["tier__number", "model"]
        constraints = [
            models.UniqueConstraint(
                fields=["tier", "model"], name="one_limit_per_tier_model"
            ),
            models.CheckConstraint(
                condition=Q(requests_per_minute__gt=0), name="tier_rpm_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tier}: {self.model} {self.requests_per_minute}/min"


class GroupLimits(models.Model):
    """A group's tier state: the highest tier reached, and any operator override."""

    group = models.OneToOneField(
        ApiGroup, primary_key=True, on_delete=models.CASCADE, related_name="limits"
    )
    # Never lowered: a tier, once reached, is kept even if thresholds change.
    reached_tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Set by an operator (an enterprise customer, a load test): replaces the
    # reached tier for this group's limits.
    override_tier = models.ForeignKey(
        Tier,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Give this group its own tier, whatever it has bought.",
    )
    override_note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "group limits"
        verbose_name_plural = "group limits"

    def __str__(self) -> str:
        return f"Limits of {self.group}"


class GroupModelLimit(models.Model):
    """An operator's own requests-per-minute for one group and model."""

    group = models.ForeignKey(
        ApiGroup, on_delete=models.CASCADE, related_name="model_limits"
    )
    model = models.CharField(max_length=64)
    requests_per_minute = models.PositiveIntegerField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["model"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "model"], name="one_override_per_group_model"
            ),
            models.CheckConstraint(
                condition=Q(requests_per_minute__gt=0), name="group_rpm_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group}: {self.model} {self.requests_per_minute}/min"
