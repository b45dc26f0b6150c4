"""Check that every group's stored balance equals the sum of its ledger."""

from django.core.management.base import BaseCommand, CommandError

from billing.ledger import ledger_mismatches
from portal.money import format_money


class Command(BaseCommand):
    help = "Print each group whose balance differs from its ledger; fail if any."

    def handle(self, *args, **options):
        mismatches = ledger_mismatches()
        for item in mismatches:
            self.stdout.write(
                f"{item.slug} (group {item.group_id}): stored "
                f"{format_money(item.stored_micros, 6)}, ledger sum "
                f"{format_money(item.ledger_micros, 6)}"
            )
        if mismatches:
            raise CommandError(
                f"{len(mismatches)} group(s) disagree with their ledger."
            )
        self.stdout.write("Every balance equals the sum of its ledger.")
