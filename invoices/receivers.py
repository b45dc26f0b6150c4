from functools import partial

from django.db import transaction
from django.dispatch import receiver

from billing.signals import balance_changed
from invoices.models import RECEIPTED_KINDS
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
