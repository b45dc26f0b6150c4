from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from invoices.periods import PeriodError, ensure_ended, parse_period, previous_month
from invoices.services import issue_invoices_for_period


class Command(BaseCommand):
    help = (
        "Issue the monthly usage invoices for a month that has ended (default: the "
        "previous month, UTC). Safe to run again: a group is invoiced once a month."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--period", metavar="YYYY-MM", help="the month to invoice, e.g. 2026-03"
        )

    def handle(self, *args, period=None, **options):
        now = timezone.now()
        try:
            month = parse_period(period) if period else previous_month(now)
            ensure_ended(month, now)
        except PeriodError as exc:
            raise CommandError(str(exc)) from None

        report = issue_invoices_for_period(month, actor_label="operator")
        for invoice in report.issued:
            self.stdout.write(
                f"{invoice.number}  {invoice.customer_name}  "
                f"{invoice.total_micros} micros"
            )
        self.stdout.write(
            f"{month:%Y-%m}: {len(report.issued)} issued, "
            f"{report.already_issued} already issued, {len(report.failed)} failed"
        )
        if report.failed:
            ids = ", ".join(str(pk) for pk in report.failed)
            raise CommandError(f"could not invoice group(s) {ids}; see the log")
