"""Issued documents: monthly usage invoices and receipts for credits bought.

Both are records of the past. Once issued, a document never changes: the buyer's
and the seller's details are copied onto it, and its number is never reused.
Amounts are integer micros of the document's currency.
"""

from datetime import date

from django.db import models
from django.db.models import F, Q
from django.utils.functional import cached_property

from apikeys.models import ApiKey
from billing.models import LedgerEntry, LedgerKind
from groups.models import ApiGroup
from invoices.formatting import country_named, places_for
from invoices.periods import last_day


class Series(models.TextChoices):
    """A numbering series; its value is the prefix of every number in it."""

    INVOICE = "INV", "Invoice"
    RECEIPT = "RCT", "Receipt"


class DocumentSequence(models.Model):
    """The last number given out in a series and year.

    The row is locked for the whole transaction that inserts the document, so
    numbers are handed out one at a time, and a rolled back insert gives its
    number back: the series has no gaps.
    """

    series = models.CharField(max_length=3, choices=Series.choices)
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year"], name="one_sequence_per_series_year"
            ),
            models.CheckConstraint(
                condition=Q(series__in=Series.values), name="sequence_series_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.series}-{self.year} at {self.last_value}"


def format_number(series: str, year: int, value: int) -> str:
    return f"{series}-{year}-{value:06d}"


class IssuedDocument(models.Model):
    """What an invoice and a receipt share: a number and the parties' details."""

    group = models.ForeignKey(ApiGroup, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=20, unique=True)
    issued_at = models.DateTimeField(db_index=True)
    currency = models.CharField(max_length=3)
    # The organization's details as they were when the document was issued.
    customer_name = models.CharField(max_length=120)
    customer_address = models.TextField(blank=True)
    customer_tax_id = models.CharField(max_length=40, blank=True)
    # The seller's details from settings, as they were when it was issued.
    seller_name = models.CharField(max_length=200)
    seller_address = models.TextField(blank=True)
    seller_tax_id = models.CharField(max_length=40, blank=True)
    seller_email = models.CharField(max_length=254, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Issued documents are never edited")
        super().save(*args, **kwargs)

    @property
    def customer_address_lines(self) -> list[str]:
        return [line for line in self.customer_address.splitlines() if line]

    @property
    def seller_address_lines(self) -> list[str]:
        lines = [line for line in self.seller_address.splitlines() if line]
        return country_named(lines)


class Invoice(IssuedDocument):
    """A group's usage in one calendar month (UTC), settled from its credits."""

    # The first day of the month invoiced.
    period = models.DateField()
    total_micros = models.BigIntegerField()
    # The month's usage debits in the ledger, as a positive amount.
    credits_applied_micros = models.BigIntegerField()
    # Set when the admins' notification was claimed for sending; see tasks.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "period"], name="one_invoice_per_group_period"
            ),
            models.CheckConstraint(
                condition=Q(period__day=1), name="invoice_period_is_a_month"
            ),
            models.CheckConstraint(
                condition=Q(total_micros__gte=0), name="invoice_total_not_negative"
            ),
            # Usage is prepaid: the credits debited for the month pay for all of it.
            models.CheckConstraint(
                condition=Q(credits_applied_micros=F("total_micros")),
                name="invoice_paid_by_credits",
            ),
        ]

    @cached_property
    def money_places(self) -> int:
        """Decimals that show every amount on the invoice exactly, alike.

        The history list reads the same in one query (queries._money_places).
        """
        amounts = self.lines.values_list("amount_micros", flat=True)
        return max((places_for(amount) for amount in amounts), default=2)

    @property
    def period_label(self) -> str:
        return f"{self.period:%B %Y}"

    @property
    def period_last_day(self) -> date:
        return last_day(self.period)

    @property
    def amount_due_micros(self) -> int:
        return self.total_micros - self.credits_applied_micros

    @property
    def status_label(self) -> str:
        # Paid on issue: invoice_paid_by_credits leaves nothing due.
        return "Paid"


class InvoiceLine(models.Model):
    """One model used through one key during the invoiced month."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    model = models.CharField(max_length=64)
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="+")
    # The key as it was known when the invoice was issued.
    key_name = models.CharField(max_length=80)
    key_last_four = models.CharField(max_length=4)
    requests = models.BigIntegerField()
    input_tokens = models.BigIntegerField()
    output_tokens = models.BigIntegerField()
    citation_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    search_queries = models.BigIntegerField()
    amount_micros = models.BigIntegerField()

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "position"], name="one_line_per_position"
            ),
            models.UniqueConstraint(
                fields=["invoice", "model", "api_key"], name="one_line_per_model_key"
            ),
            models.CheckConstraint(
                condition=Q(amount_micros__gte=0), name="invoice_line_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def description(self) -> str:
        return f"{self.model} ({self.key_last_four})"


# Ledger kinds that are a payment and get a receipt.
RECEIPTED_KINDS = (LedgerKind.PURCHASE, LedgerKind.AUTO_TOP_UP)


class Receipt(IssuedDocument):
    """Proof of one payment for credits: a purchase or an automatic top-up."""

    ledger_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, related_name="receipt"
    )
    kind = models.CharField(max_length=16, choices=LedgerKind.choices)
    paid_at = models.DateTimeField()
    amount_micros = models.BigIntegerField()
    # Blank when the payment has no card on record.
    card_brand = models.CharField(max_length=32, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)

    class Meta:
        ordering = ["-issued_at", "-number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=RECEIPTED_KINDS), name="receipt_is_for_a_payment"
            ),
            models.CheckConstraint(
                condition=Q(amount_micros__gt=0), name="receipt_amount_positive"
            ),
        ]

    @property
    def money_places(self) -> int:
        return places_for(self.amount_micros)

    @property
    def status_label(self) -> str:
        return "Paid"
