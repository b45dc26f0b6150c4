"""Reading issued documents for pages and PDFs."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse

from billing.models import ModelPrice
from groups.models import ApiGroup
from invoices.formatting import places_for, quantity
from invoices.models import Invoice, InvoiceLine, Receipt
from invoices.periods import bounds, last_day


@dataclass(frozen=True)
class HistoryRow:
    """One invoice or receipt as the history lists it."""

    kind: str
    number: str
    url: str
    pdf_url: str
    # An invoice covers a month; a receipt is for a payment at a moment.
    period: date | None
    paid_at: datetime | None
    amount_micros: int
    currency: str
    status: str
    # Decimals the document's own page shows its amounts with, so both read alike.
    money_places: int


@dataclass(frozen=True)
class BilledTokens:
    """Which token counts beyond input and output a model charged for."""

    citation: bool = False
    reasoning: bool = False

    def describe(self, line: InvoiceLine) -> str:
        """`29,025 citation tokens, 247,350 reasoning tokens`, or what was billed."""
        parts = []
        if self.citation and line.citation_tokens:
            parts.append(f"{quantity(line.citation_tokens)} citation tokens")
        if self.reasoning and line.reasoning_tokens:
            parts.append(f"{quantity(line.reasoning_tokens)} reasoning tokens")
        return ", ".join(parts)


@dataclass(frozen=True)
class ModelSection:
    model: str
    lines: list[InvoiceLine]
    subtotal_micros: int
    billed: BilledTokens = BilledTokens()

    @property
    def rows(self) -> list[tuple[InvoiceLine, str]]:
        """Each line with the token counts it was charged for beyond the columns."""
        return [(line, self.billed.describe(line)) for line in self.lines]


def history_years(group: ApiGroup) -> list[int]:
    """The years that have a document, newest first."""
    invoices = Invoice.objects.filter(group=group).dates("period", "year")
    receipts = Receipt.objects.filter(group=group).datetimes("paid_at", "year")
    years = {day.year for day in invoices} | {moment.year for moment in receipts}
    return sorted(years, reverse=True)


def history(group: ApiGroup, year: int | None) -> list[HistoryRow]:
    """Invoices (by the month they cover) and receipts (by payment), newest first."""
    invoices = Invoice.objects.filter(group=group)
    receipts = Receipt.objects.filter(group=group)
    if year is not None:
        invoices = invoices.filter(period__year=year)
        receipts = receipts.filter(paid_at__year=year)
    places = _money_places(invoices)
    rows = [_invoice_row(group, invoice, places[invoice.pk]) for invoice in invoices]
    rows += [_receipt_row(group, receipt) for receipt in receipts]
    rows.sort(key=_newest_first, reverse=True)
    return rows


def _newest_first(row: HistoryRow) -> tuple[date, str]:
    # An invoice sorts by the last day of its month, after that month's receipts.
    if row.period is not None:
        return last_day(row.period), row.number
    assert row.paid_at is not None
    return row.paid_at.date(), row.number


def _money_places(invoices: QuerySet[Invoice]) -> dict[int, int]:
    """Invoice.money_places for many invoices, in one query."""
    places = {invoice.pk: 2 for invoice in invoices}
    lines = InvoiceLine.objects.filter(invoice__in=invoices)
    for invoice_id, amount in lines.values_list("invoice_id", "amount_micros"):
        places[invoice_id] = max(places[invoice_id], places_for(amount))
    return places


def _invoice_row(group: ApiGroup, invoice: Invoice, money_places: int) -> HistoryRow:
    return HistoryRow(
        kind="Invoice",
        number=invoice.number,
        url=reverse("invoices:invoice", args=[group.slug, invoice.number]),
        pdf_url=reverse("invoices:invoice-pdf", args=[group.slug, invoice.number]),
        period=invoice.period,
        paid_at=None,
        amount_micros=invoice.total_micros,
        currency=invoice.currency,
        status=invoice.status_label,
        money_places=money_places,
    )


def _receipt_row(group: ApiGroup, receipt: Receipt) -> HistoryRow:
    return HistoryRow(
        kind="Receipt",
        number=receipt.number,
        url=reverse("invoices:receipt", args=[group.slug, receipt.number]),
        pdf_url=reverse("invoices:receipt-pdf", args=[group.slug, receipt.number]),
        period=None,
        paid_at=receipt.paid_at,
        amount_micros=receipt.amount_micros,
        currency=receipt.currency,
        status=receipt.status_label,
        money_places=receipt.money_places,
    )


def sections_by_model(invoice: Invoice) -> list[ModelSection]:
    """The invoice's lines grouped by model, each group with its subtotal."""
    lines = list(invoice.lines.all())
    billed = billed_tokens(invoice.period, {line.model for line in lines})
    return [
        ModelSection(
            model,
            group,
            sum(line.amount_micros for line in group),
            billed.get(model, BilledTokens()),
        )
        for model, group in (
            (model, list(items))
            for model, items in groupby(lines, key=lambda line: line.model)
        )
    ]


def billed_tokens(period: date, models: set[str]) -> dict[str, BilledTokens]:
    """Which extra tokens each model charged for during the month `period`.

    Decided from the price rows in effect during the month: rows in effect are
    never edited or deleted, so an issued invoice always reads the same.
    """
    start, end = bounds(period)
    prices = ModelPrice.objects.filter(model__in=models, effective_from__lt=end)
    billed: dict[str, BilledTokens] = {}
    for model, rows in groupby(prices.order_by("model", "-effective_from"), _model):
        in_month = list(_in_effect_from(start, rows))
        billed[model] = BilledTokens(
            citation=any(row.citation_per_million_micros for row in in_month),
            reasoning=any(row.reasoning_per_million_micros for row in in_month),
        )
    return billed


def _model(price: ModelPrice) -> str:
    return price.model


def _in_effect_from(
    start: datetime, rows: Iterable[ModelPrice]
) -> Iterator[ModelPrice]:
    """Of rows newest first, those in effect from `start` on."""
    for row in rows:
        yield row
        if row.effective_from <= start:
            return


def usage_url(group: ApiGroup, invoice: Invoice, line: InvoiceLine) -> str:
    """The usage page narrowed to the line's key, model and month."""
    try:
        path = reverse("usage:dashboard", args=[group.slug])
    except NoReverseMatch:
        # The usage app is built alongside; this is its agreed address.
        path = f"/g/{group.slug}/usage/"
    query = urlencode(
        {
            "range": "custom",
            "start": invoice.period.isoformat(),
            "end": invoice.period_last_day.isoformat(),
            "model": line.model,
            "key": line.api_key_id,
        }
    )
    return f"{path}?{query}"
