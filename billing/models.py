from django.conf import settings
from django.db import models
from django.db.models import Q

from groups.models import ApiGroup
from usage.models import UsageEvent


class BillingAccount(models.Model):
    """A group's credit balance. `balance_micros` always equals its ledger's sum."""

    group = models.OneToOneField(
        ApiGroup,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="billing_account",
    )
    # Micros of the portal currency. May dip below zero by the cost of the calls
    # that were in flight when it ran out; never by more.
    balance_micros = models.BigIntegerField(default=0)
    # Credits ever bought (purchases and automatic top-ups, never grants); drives tiers.
    lifetime_purchased_micros = models.BigIntegerField(default=0)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(lifetime_purchased_micros__gte=0),
                name="lifetime_purchased_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Billing account of {self.group_id}"


class LedgerKind(models.TextChoices):
    PURCHASE = "purchase", "Purchase"
    AUTO_TOP_UP = "auto_top_up", "Automatic top-up"
    USAGE = "usage", "Usage"
    GRANT = "grant", "Operator grant"
    ADJUSTMENT = "adjustment", "Adjustment"
    REFUND = "refund", "Refund"


# Kinds that count as credits bought, for usage tiers.
PURCHASED_KINDS = frozenset({LedgerKind.PURCHASE, LedgerKind.AUTO_TOP_UP})


class LedgerEntry(models.Model):
    """One movement of credits. Append-only: corrections are new entries."""

    group = models.ForeignKey(
        ApiGroup, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    kind = models.CharField(max_length=16, choices=LedgerKind.choices)
    # Signed micros: credits in are positive, usage and refunds negative.
    amount_micros = models.BigIntegerField()
    balance_after_micros = models.BigIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Who caused it when no user did: "operator", "auto top-up", "api".
    actor_label = models.CharField(max_length=120, blank=True)
    note = models.CharField(max_length=500, blank=True)
    usage_event = models.OneToOneField(
        UsageEvent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entry",
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["group", "-created_at", "-id"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=LedgerKind.values), name="ledger_kind_known"
            ),
            models.CheckConstraint(
                condition=~Q(kind=LedgerKind.USAGE)
                | (Q(amount_micros__lte=0) & Q(usage_event__isnull=False)),
                name="ledger_usage_is_debit_of_event",
            ),
            models.CheckConstraint(
                condition=Q(usage_event__isnull=True) | Q(kind=LedgerKind.USAGE),
                name="ledger_event_only_on_usage",
            ),
            models.CheckConstraint(
                condition=~Q(
                    kind__in=[
                        LedgerKind.PURCHASE,
                        LedgerKind.AUTO_TOP_UP,
                        LedgerKind.GRANT,
                    ]
                )
                | Q(amount_micros__gt=0),
                name="ledger_credit_is_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind=LedgerKind.REFUND) | Q(amount_micros__lt=0),
                name="ledger_refund_is_negative",
            ),
            models.CheckConstraint(
                condition=~Q(kind=LedgerKind.ADJUSTMENT) | ~Q(amount_micros=0),
                name="ledger_adjustment_not_zero",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount_micros} for {self.group_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Ledger entries are append-only")
        super().save(*args, **kwargs)


class ModelPrice(models.Model):
    """A model's prices from `effective_from` on; a change is a new row, never an edit.

    Prices are micros of the portal currency per the unit in each field's name.
    """

    model = models.CharField(max_length=64)
    effective_from = models.DateTimeField()
    input_per_million_micros = models.BigIntegerField(default=0)
    output_per_million_micros = models.BigIntegerField(default=0)
    citation_per_million_micros = models.BigIntegerField(default=0)
    reasoning_per_million_micros = models.BigIntegerField(default=0)
    # Fee per thousand requests by search context size; null where the model has none.
    request_low_per_thousand_micros = models.BigIntegerField(null=True, blank=True)
    request_medium_per_thousand_micros = models.BigIntegerField(null=True, blank=True)
    request_high_per_thousand_micros = models.BigIntegerField(null=True, blank=True)
    search_query_per_thousand_micros = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "effective_from"], name="one_price_per_date"
            ),
            models.CheckConstraint(
                condition=Q(input_per_million_micros__gte=0)
                & Q(output_per_million_micros__gte=0)
                & Q(citation_per_million_micros__gte=0)
                & Q(reasoning_per_million_micros__gte=0)
                & Q(search_query_per_thousand_micros__gte=0),
                name="prices_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} from {self.effective_from:%Y-%m-%d}"
