"""Demo data: invoice every month of the demo group's usage that has ended."""

from datetime import UTC

from django.utils import timezone

from invoices.periods import bounds, month_of
from invoices.services import issue_invoice, issue_missing_receipts
from usage.models import UsageRollup


def seed(group, admin, write) -> None:
    """Issue what the demo's usage and purchases call for; safe to run again."""
    now = timezone.now()
    months = {
        month_of(hour)
        for hour in UsageRollup.objects.filter(group=group).datetimes(
            "hour", "month", tzinfo=UTC
        )
    }
    issued = [
        issue_invoice(group.pk, month, actor_label="demo")
        for month in sorted(months)
        if bounds(month)[1] <= now
    ]
    receipts = issue_missing_receipts(actor_label="demo")
    write(
        f"Invoices: {sum(1 for i in issued if i)} issued, "
        f"{len(receipts)} receipt(s) caught up"
    )
