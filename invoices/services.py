"""Issuing invoices and receipts: every write to this app happens here."""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from apikeys.models import ApiKey
from billing.models import LedgerEntry, LedgerKind
from groups.models import ApiGroup, AuditAction
from groups.services import record_audit
from invoices.models import (
    RECEIPTED_KINDS,
    Invoice,
    InvoiceLine,
    Receipt,
    Series,
)
from invoices.numbering import lock_sequence, take_number
from invoices.periods import bounds, ensure_ended
from usage.models import UsageRollup

logger = logging.getLogger(__name__)


class InvoiceMismatchError(RuntimeError):
    """The month's usage records and its ledger debits disagree; nothing issued."""


@dataclass
class IssueReport:
    period: date
    issued: list[Invoice] = field(default_factory=list)
    already_issued: int = 0
    failed: list[int] = field(default_factory=list)


def customer_details(group: ApiGroup) -> dict[str, str]:
    """The organization's details as they read now, to copy onto a document."""
    return {
        "customer_name": group.name,
        "customer_address": "\n".join(group.address_lines()),
        "customer_tax_id": group.tax_id,
    }


def seller_details() -> dict[str, str]:
    return {
        "seller_name": settings.SELLER_NAME,
        "seller_address": settings.SELLER_ADDRESS,
        "seller_tax_id": settings.SELLER_TAX_ID,
        "seller_email": settings.SELLER_EMAIL,
    }


def groups_to_invoice(period: date) -> list[int]:
    """Ids of the groups with usage in the month and no invoice for it yet."""
    start, end = bounds(period)
    used = UsageRollup.objects.filter(
        group=OuterRef("pk"), hour__gte=start, hour__lt=end, requests__gt=0
    )
    invoiced = Invoice.objects.filter(group=OuterRef("pk"), period=period)
    return list(
        ApiGroup.objects.filter(Exists(used))
        .exclude(Exists(invoiced))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def issue_invoices_for_period(period: date, *, actor_label: str) -> IssueReport:
    """Issue the month's invoice of every group that used the API in it.

    Safe to run again and from several workers at once: a group that already has
    its invoice is skipped. One group's failure does not hold up the others.
    Raises PeriodError for a month that has not ended.
    """
    ensure_ended(period, timezone.now())
    report = IssueReport(period)
    to_invoice = groups_to_invoice(period)
    report.already_issued = Invoice.objects.filter(period=period).count()
    for group_id in to_invoice:
        try:
            invoice = issue_invoice(group_id, period, actor_label=actor_label)
        except Exception:
            logger.exception(
                "invoice failed group=%s period=%s", group_id, f"{period:%Y-%m}"
            )
            report.failed.append(group_id)
            continue
        if invoice is None:
            report.already_issued += 1
        else:
            report.issued.append(invoice)
    return report


def issue_invoice(group_id: int, period: date, *, actor_label: str) -> Invoice | None:
    """Issue a group's invoice for a month; None if it has one or had no usage."""
    ensure_ended(period, timezone.now())
    start, end = bounds(period)
    lines = collect_lines(group_id, start, end)
    if not lines:
        return None
    total = sum(line.amount_micros for line in lines)
    debited = usage_debited(group_id, start, end)
    if total != debited:
        raise InvoiceMismatchError(
            f"group {group_id} {period:%Y-%m}: usage lines {total} != ledger {debited}"
        )

    with transaction.atomic():
        issued_at = timezone.now()
        sequence = lock_sequence(Series.INVOICE, issued_at.year)
        if Invoice.objects.filter(group_id=group_id, period=period).exists():
            return None
        # Read the details under the lock, as they are at the moment of issue.
        group = ApiGroup.objects.get(pk=group_id)
        invoice = Invoice(
            group=group,
            number=take_number(sequence),
            issued_at=issued_at,
            currency=settings.PORTAL_CURRENCY,
            period=period,
            total_micros=total,
            credits_applied_micros=debited,
            **customer_details(group),
            **seller_details(),
        )
        invoice.save(force_insert=True)
        for position, line in enumerate(lines, start=1):
            line.invoice = invoice
            line.position = position
        InvoiceLine.objects.bulk_create(lines)
        record_audit(
            group,
            None,
            AuditAction.INVOICE_ISSUED,
            target=invoice.number,
            changes={
                "period": f"{period:%Y-%m}",
                "total_micros": total,
                "lines": len(lines),
            },
            actor_label=actor_label,
        )
        transaction.on_commit(partial(_queue_invoice_email, invoice.pk), robust=True)

    logger.info(
        "invoice issued invoice=%s number=%s group=%s period=%s total_micros=%s",
        invoice.pk,
        invoice.number,
        group_id,
        f"{period:%Y-%m}",
        total,
    )
    return invoice


def _queue_invoice_email(invoice_id: int) -> None:
    from invoices.tasks import send_invoice_email

    send_invoice_email.delay(invoice_id)


_SUMS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "citation_tokens",
    "reasoning_tokens",
    "search_queries",
)


def collect_lines(group_id: int, start: datetime, end: datetime) -> list[InvoiceLine]:
    """Sum the hourly rollups into unsaved lines, by model and then by key."""
    rows = list(
        UsageRollup.objects.filter(group_id=group_id, hour__gte=start, hour__lt=end)
        .values("model", "api_key_id")
        .annotate(
            amount=Sum("cost_micros"),
            **{f"sum_{name}": Sum(name) for name in _SUMS},
        )
        # django-stubs' plugin drops annotations passed as **kwargs, so it knows
        # neither this name nor the sum_ keys of the rows below.
        .filter(sum_requests__gt=0)  # type: ignore[misc]
    )
    keys = ApiKey.objects.in_bulk({row["api_key_id"] for row in rows})
    lines = [
        InvoiceLine(
            model=row["model"],
            api_key=keys[row["api_key_id"]],
            key_name=keys[row["api_key_id"]].name,
            key_last_four=keys[row["api_key_id"]].last_four,
            amount_micros=row["amount"],
            **{name: row[f"sum_{name}"] for name in _SUMS},  # type: ignore[literal-required]
        )
        for row in rows
    ]
    lines.sort(key=lambda line: (line.model, line.key_name.lower(), line.api_key_id))
    return lines


def usage_debited(group_id: int, start: datetime, end: datetime) -> int:
    """The usage debited from the group's credits in [start, end), as a positive sum."""
    total = LedgerEntry.objects.filter(
        group_id=group_id,
        kind=LedgerKind.USAGE,
        created_at__gte=start,
        created_at__lt=end,
    ).aggregate(total=Sum("amount_micros"))["total"]
    return -(total or 0)


def issue_receipt(entry_id: int, *, actor_label: str = "system") -> Receipt | None:
    """Issue a purchase's or top-up's receipt; None if it has one or is no payment."""
    entry = LedgerEntry.objects.filter(pk=entry_id).first()
    if entry is None or entry.kind not in RECEIPTED_KINDS:
        return None

    with transaction.atomic():
        issued_at = timezone.now()
        sequence = lock_sequence(Series.RECEIPT, issued_at.year)
        if Receipt.objects.filter(ledger_entry_id=entry_id).exists():
            return None
        group = ApiGroup.objects.get(pk=entry.group_id)
        receipt = Receipt(
            group=group,
            number=take_number(sequence),
            issued_at=issued_at,
            currency=settings.PORTAL_CURRENCY,
            ledger_entry=entry,
            kind=entry.kind,
            paid_at=entry.created_at,
            amount_micros=entry.amount_micros,
            **card_of(entry),
            **customer_details(group),
            **seller_details(),
        )
        receipt.save(force_insert=True)
        record_audit(
            group,
            None,
            AuditAction.RECEIPT_ISSUED,
            target=receipt.number,
            changes={
                "kind": entry.kind,
                "amount_micros": entry.amount_micros,
                "ledger_entry": entry.pk,
            },
            actor_label=actor_label,
        )

    logger.info(
        "receipt issued receipt=%s number=%s group=%s entry=%s amount_micros=%s",
        receipt.pk,
        receipt.number,
        group.pk,
        entry.pk,
        entry.amount_micros,
    )
    return receipt


def card_of(entry: LedgerEntry) -> dict[str, Any]:
    """The card that paid for an entry, or blanks when no card is on record."""
    payment = entry.payment
    if payment is None:
        return {"card_brand": "", "card_last4": ""}
    return {"card_brand": payment.card_brand, "card_last4": payment.card_last4}


def issue_missing_receipts(*, actor_label: str = "system") -> list[Receipt]:
    """Issue the receipts that a failed after-commit hook left out."""
    entry_ids = LedgerEntry.objects.filter(
        kind__in=RECEIPTED_KINDS, receipt__isnull=True
    ).values_list("pk", flat=True)
    receipts = [issue_receipt(pk, actor_label=actor_label) for pk in entry_ids]
    return [receipt for receipt in receipts if receipt is not None]
