import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from groups.models import ApiGroup
from usage.models import UsageEvent


def new_idempotency_token() -> str:
    """A random part for the Stripe idempotency keys a row sends, set at creation.

    Ids alone repeat across databases on one Stripe account (a reset development
    database, staging beside production), and Stripe would replay the other
    installation's result for 24 hours; the token makes each key unique while the
    row keeps it for every retry.
    """
    return secrets.token_hex(16)


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
    # Keys the creation of the Stripe customer; empty on accounts older than it.
    idempotency_token = models.CharField(
        max_length=32, blank=True, default=new_idempotency_token, editable=False
    )
    # Whether admins were told of the current low-balance crossing and of the
    # current exhaustion; credits arriving reset them, so each episode mails once.
    low_balance_alerted = models.BooleanField(default=False)
    exhausted_alerted = models.BooleanField(default=False)
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

    @property
    def customer_idempotency_key(self) -> str:
        return _idempotency_key("portal-customer", self.pk, self.idempotency_token)


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

    # Led by the group, the (group, -created_at, -id) index serves its lookups.
    group = models.ForeignKey(
        ApiGroup,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        db_index=False,
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
    # The card payment that bought these credits (purchases and top-ups).
    payment = models.ForeignKey(
        "billing.Payment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
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
            # A payment credits at most once, whoever confirms it first.
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(kind__in=[LedgerKind.PURCHASE, LedgerKind.AUTO_TOP_UP]),
                name="payment_credited_once",
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


class PaymentKind(models.TextChoices):
    PURCHASE = "purchase", "Credit purchase"
    AUTO_TOP_UP = "auto_top_up", "Automatic top-up"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # A purchase whose bank asks the admin to authenticate it in the browser.
    REQUIRES_ACTION = "requires_action", "Awaiting authentication"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Payment(models.Model):
    """One card charge for credits; its id and token key the charge at Stripe.

    Created pending before Stripe is called, then settled once: the first of the
    charge response, the webhook and (for a purchase whose bank asks for a check)
    the return from the admin's check to claim it wins.
    """

    group = models.ForeignKey(ApiGroup, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=PaymentKind.choices)
    status = models.CharField(
        max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    # Micros of `currency`; always a whole number of cents.
    amount_micros = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    # Copied from the card when charged, for receipts after the card is removed.
    card_brand = models.CharField(max_length=32, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    # The token of the form that asked for a purchase: the same form submitted
    # twice (a double click, a retry, two tabs) charges once.
    form_token = models.CharField(max_length=64, blank=True)
    # Keys the charge at Stripe with the id; empty on payments older than it,
    # whose key stays the id alone.
    idempotency_token = models.CharField(
        max_length=32, blank=True, default=new_idempotency_token, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["group", "kind", "status", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=PaymentKind.values), name="payment_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values),
                name="payment_status_known",
            ),
            models.CheckConstraint(
                condition=Q(amount_micros__gt=0)
                & Q(amount_micros=models.F("amount_micros") / 10_000 * 10_000),
                name="payment_positive_whole_cents",
            ),
            # At most one automatic top-up in flight per group, however many
            # threshold crossings race to start one.
            models.UniqueConstraint(
                fields=["group"],
                condition=Q(kind="auto_top_up", status="pending"),
                name="one_pending_top_up_per_group",
            ),
            models.UniqueConstraint(
                fields=["stripe_payment_intent_id"],
                condition=~Q(stripe_payment_intent_id=""),
                name="payment_intent_used_once",
            ),
            models.UniqueConstraint(
                fields=["group", "form_token"],
                condition=~Q(form_token=""),
                name="one_payment_per_purchase_form",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} ({self.status})"

    @property
    def idempotency_key(self) -> str:
        return _idempotency_key("portal-payment", self.pk, self.idempotency_token)

    @property
    def card_label(self) -> str:
        if not self.card_last4:
            return ""
        return f"{self.card_brand.title()} •••• {self.card_last4}"


def _idempotency_key(prefix: str, pk: int | None, token: str) -> str:
    if pk is None:
        raise ValueError("A row keys its Stripe requests only once it is saved")
    return f"{prefix}-{pk}-{token}" if token else f"{prefix}-{pk}"


def card_has_expired(exp_month: int, exp_year: int) -> bool:
    """A card works through the last day of its expiry month."""
    today = timezone.now().date()
    return (exp_year, exp_month) < (today.year, today.month)


class PaymentMethod(models.Model):
    """A card stored at Stripe for the group; we keep only what people see."""

    group = models.ForeignKey(
        ApiGroup, on_delete=models.CASCADE, related_name="payment_methods"
    )
    stripe_payment_method_id = models.CharField(max_length=255, unique=True)
    brand = models.CharField(max_length=32)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    is_default = models.BooleanField(default=False)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group"],
                condition=Q(is_default=True),
                name="one_default_card_per_group",
            ),
            models.CheckConstraint(
                condition=Q(exp_month__gte=1) & Q(exp_month__lte=12),
                name="card_exp_month_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.brand.title()} •••• {self.last4}"

    @property
    def expiry(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year}"

    @property
    def has_expired(self) -> bool:
        return card_has_expired(self.exp_month, self.exp_year)


class AutoTopUp(models.Model):
    """A group's automatic top-up and low-balance settings.

    The threshold also drives the low-balance email, whether or not top-up is on.
    """

    group = models.OneToOneField(
        ApiGroup, primary_key=True, on_delete=models.CASCADE, related_name="auto_top_up"
    )
    enabled = models.BooleanField(default=False)
    # Micros of the portal currency.
    threshold_micros = models.BigIntegerField(default=5_000_000)
    amount_micros = models.BigIntegerField(default=20_000_000)
    monthly_cap_micros = models.BigIntegerField(default=200_000_000)
    # Failed charges since the last success; three in a row turn top-up off.
    consecutive_failures = models.PositiveSmallIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    # Why the portal turned it off by itself; empty when a person did.
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "automatic top-up"
        constraints = [
            models.CheckConstraint(
                condition=Q(threshold_micros__gte=0)
                & Q(amount_micros__gt=0)
                & Q(monthly_cap_micros__gte=0),
                name="auto_top_up_amounts_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Automatic top-up of {self.group_id}"


class StripeEvent(models.Model):
    """A webhook event we handled; its id makes every redelivery a no-op."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class NoticeKind(models.TextChoices):
    LOW_BALANCE = "low_balance", "Low balance"
    KEYS_BLOCKED = "keys_blocked", "Keys blocked: out of credits"
    TOP_UP_FAILED = "top_up_failed", "Automatic top-up failed"
    TOP_UP_DISABLED = "top_up_disabled", "Automatic top-up turned off"


class BillingNotice(models.Model):
    """An email to a group's admins, written once and sent at most once."""

    group = models.ForeignKey(
        ApiGroup, on_delete=models.CASCADE, related_name="billing_notices"
    )
    kind = models.CharField(max_length=24, choices=NoticeKind.choices)
    # What makes this notice unique, e.g. "top_up_failed:payment-12".
    dedupe_key = models.CharField(max_length=120, unique=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    balance_micros = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=NoticeKind.values), name="notice_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.group_id}"
