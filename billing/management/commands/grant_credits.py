"""Grant a group credits, or correct them with a negative amount."""

from django.core.management.base import BaseCommand, CommandError

from billing.services import BillingError, grant_credits
from groups.models import ApiGroup
from portal.money import MoneyError, format_money, to_micros


class Command(BaseCommand):
    help = (
        "Grant credits to a group (a negative amount corrects them, never below "
        "zero). Example: grant_credits --group acme --amount 25.00 --note 'Welcome'"
    )

    def add_arguments(self, parser):
        parser.add_argument("--group", required=True, help="the group's slug")
        parser.add_argument(
            "--amount", required=True, help="currency units, e.g. 25.00 or -3.50"
        )
        parser.add_argument("--note", required=True, help="why, kept in the ledger")

    def handle(self, *args, **options):
        group = ApiGroup.objects.filter(slug=options["group"]).first()
        if group is None:
            raise CommandError(f"No group with slug {options['group']!r}.")
        try:
            micros = to_micros(options["amount"])
        except MoneyError:
            raise CommandError(
                f"{options['amount']!r} is not an amount such as 25.00."
            ) from None
        try:
            entry = grant_credits(group, micros, options["note"])
        except BillingError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{entry.get_kind_display()} of {format_money(micros, 2)} for "
            f"{group.slug}; balance now {format_money(entry.balance_after_micros)}."
        )
