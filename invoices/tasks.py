import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from invoices.emails import email_invoice_issued
from invoices.models import Invoice
from invoices.periods import parse_period, previous_month
from invoices.services import issue_invoices_for_period, issue_missing_receipts

logger = logging.getLogger(__name__)

# An invoice whose email is still unsent this long after issue lost its task.
EMAIL_GRACE = timedelta(minutes=30)


@shared_task
def issue_monthly_invoices(period: str | None = None) -> dict[str, int]:
    """Issue last month's invoices (or `period`'s, YYYY-MM); safe to run again.

    Beat runs it several times a day: the first run after a month ends issues,
    the later ones find nothing to do, and each one also catches up on receipts
    and emails that an earlier failure left behind.
    """
    now = timezone.now()
    month = parse_period(period) if period else previous_month(now)
    report = issue_invoices_for_period(month, actor_label="system")
    receipts = issue_missing_receipts()
    for invoice_id in Invoice.objects.filter(
        emailed_at__isnull=True, issued_at__lt=now - EMAIL_GRACE
    ).values_list("pk", flat=True):
        send_invoice_email.delay(invoice_id)
    logger.info(
        "monthly invoices period=%s issued=%s already=%s failed=%s receipts=%s",
        f"{month:%Y-%m}",
        len(report.issued),
        report.already_issued,
        len(report.failed),
        len(receipts),
    )
    return {
        "issued": len(report.issued),
        "already_issued": report.already_issued,
        "failed": len(report.failed),
        "receipts": len(receipts),
    }


@shared_task
def send_invoice_email(invoice_id: int) -> int:
    """Tell the group's admins an invoice was issued; sends at most once."""
    return email_invoice_issued(invoice_id)
