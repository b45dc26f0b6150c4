"""The demo group's share of billing: $25 of operator-granted credits, once.

Granted before the demo's month of usage (usage's demo asks for it first), so that
the credit history's running balance reads as a real account's would.
"""

from datetime import timedelta

from django.utils import timezone

from billing.models import LedgerEntry, LedgerKind
from billing.services import grant_credits
from portal.money import format_money, to_micros

DEMO_NOTE = "Demo credits"
GRANTED_DAYS_AGO = 32


def seed(group, admin, write) -> None:
    if LedgerEntry.objects.filter(
        group=group, kind=LedgerKind.GRANT, note=DEMO_NOTE
    ).exists():
        return
    at = timezone.now() - timedelta(days=GRANTED_DAYS_AGO)
    entry = grant_credits(group, to_micros("25.00"), DEMO_NOTE, at=at)
    write(f"Granted the demo group {format_money(entry.amount_micros)} of credits.")
