"""Telling admins about new invoices. The email links to the invoice; the invoice
itself stays behind the sign-in, never in the message or a public URL."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from groups.models import Capability, Membership
from invoices.models import Invoice

logger = logging.getLogger(__name__)


def invoice_recipients(invoice: Invoice) -> list[str]:
    """The addresses of the group's members who may see its invoices."""
    memberships = Membership.objects.filter(group_id=invoice.group_id).select_related(
        "user"
    )
    return sorted(
        {
            m.user.email
            for m in memberships
            if m.user.email and m.user.is_active and m.can(Capability.VIEW_INVOICES)
        }
    )


def email_invoice_issued(invoice_id: int) -> int:
    """Email the admins about an invoice once; return how many messages went out.

    The send is claimed by setting `emailed_at` with a conditional update, so a
    task run twice sends once; a failed send releases the claim for a later run.
    """
    claimed = Invoice.objects.filter(pk=invoice_id, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return 0
    try:
        invoice = Invoice.objects.select_related("group").get(pk=invoice_id)
        messages = [
            _message(invoice, address) for address in invoice_recipients(invoice)
        ]
        sent = get_connection().send_messages(messages) if messages else 0
    except Exception:
        Invoice.objects.filter(pk=invoice_id).update(emailed_at=None)
        logger.exception("invoice email failed invoice=%s", invoice_id)
        raise
    logger.info("invoice emailed invoice=%s recipients=%s", invoice_id, sent or 0)
    return sent or 0


def _message(invoice: Invoice, address: str) -> EmailMultiAlternatives:
    path = reverse("invoices:invoice", args=[invoice.group.slug, invoice.number])
    context = {
        "invoice": invoice,
        "group": invoice.group,
        "url": f"{settings.PORTAL_BASE_URL}{path}",
        "portal_name": settings.PORTAL_NAME,
    }
    subject = (
        f"[{settings.PORTAL_NAME}] Invoice {invoice.number} for {invoice.period_label}"
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("invoices/email/invoice_issued.txt", context),
        to=[address],
    )
    message.attach_alternative(
        render_to_string("invoices/email/invoice_issued.html", context), "text/html"
    )
    return message
