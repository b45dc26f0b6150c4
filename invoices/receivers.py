from functools import partial

from django.db import transaction
from django.dispatch import receiver

from billing.signals import balance_changed
from groups.models import Capability
from groups.signals import overview_panels
from invoices.models import RECEIPTED_KINDS, Invoice
from invoices.services import issue_receipt


@receiver(balance_changed, dispatch_uid="invoices.issue_receipt")
def issue_receipt_on_commit(sender, kind: str, entry_id: int, **kwargs) -> None:
    """Issue a payment's receipt once the payment is committed.

    Runs for every metered call too, so anything but a payment returns at once. A
    receipt that fails here is issued by the next monthly run (see tasks).
    """
    if kind not in RECEIPTED_KINDS:
        return
    transaction.on_commit(partial(issue_receipt, entry_id), robust=True)


@receiver(overview_panels, dispatch_uid="invoices.overview_panel")
def latest_invoice_panel(sender, group, membership, **kwargs) -> dict | None:
    """Show admins the latest invoice on the group's overview."""
    if not membership.can(Capability.VIEW_INVOICES):
        return None
    latest = Invoice.objects.filter(group=group).order_by("-period").first()
    return {
        "template": "invoices/overview_panel.html",
        "context": {"invoice": latest, "group": group},
        "order": 80,
    }
