"""Reading issued documents for pages and PDFs."""

from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse

from groups.models import ApiGroup
from invoices.models import Invoice, InvoiceLine, Receipt
from invoices.periods import last_day


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


@dataclass(frozen=True)
class ModelSection:
    model: str
    lines: list[InvoiceLine]
    subtotal_micros: int


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
    rows = [_invoice_row(group, invoice) for invoice in invoices] + [
        _receipt_row(group, receipt) for receipt in receipts
    ]
    rows.sort(key=_newest_first, reverse=True)
    return rows


def _newest_first(row: HistoryRow) -> tuple[date, str]:
    # An invoice sorts by the last day of its month, after that month's receipts.
    if row.period is not None:
        return last_day(row.period), row.number
    assert row.paid_at is not None
    return row.paid_at.date(), row.number


def _invoice_row(group: ApiGroup, invoice: Invoice) -> HistoryRow:
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
    )


def sections_by_model(invoice: Invoice) -> list[ModelSection]:
    """The invoice's lines grouped by model, each group with its subtotal."""
    lines = list(invoice.lines.all())
    return [
        ModelSection(model, group, sum(line.amount_micros for line in group))
        for model, group in (
            (model, list(items))
            for model, items in groupby(lines, key=lambda line: line.model)
        )
    ]


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
