"""The demo group's share of billing: $25 of operator-granted credits, once."""

from billing.models import LedgerEntry, LedgerKind
from billing.services import grant_credits
from portal.money import format_money, to_micros

DEMO_NOTE = "Demo credits"


def seed(group, admin, write) -> None:
    if LedgerEntry.objects.filter(
        group=group, kind=LedgerKind.GRANT, note=DEMO_NOTE
    ).exists():
        return
    entry = grant_credits(group, to_micros("25.00"), DEMO_NOTE)
    write(f"Granted the demo group {format_money(entry.amount_micros)} of credits.")
