"""Time issuing one busy group's monthly invoice, its PDF, and a no-op rerun.

The group makes a call on every model through every key in every hour of a month
(the most rollup rows a month can hold for it). Everything runs in one transaction
that is rolled back, so no invoice number is used up. Seeding goes through
debit_usage one call at a time and takes minutes; the timings that matter follow:

    DATABASE_URL=postgres://... .venv/bin/python bench/invoices.py [--keys 3]
"""

import argparse
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402

from apikeys.models import ApiKey  # noqa: E402
from billing.ledger import debit_usage, ensure_account  # noqa: E402
from groups.models import ApiGroup  # noqa: E402
from invoices.pdf import render_invoice_pdf  # noqa: E402
from invoices.services import issue_invoices_for_period  # noqa: E402
from usage.models import UsageEvent  # noqa: E402

MODELS = ("sonar", "sonar-pro", "sonar-reasoning-pro", "sonar-deep-research")
PERIOD = date(2020, 1, 1)


class Rollback(Exception):
    pass


def seed(keys: int) -> int:
    group = ApiGroup.objects.create(name="Bench Labs", slug="bench-invoices")
    ensure_account(group.pk)
    api_keys = [
        ApiKey.objects.create(
            group=group,
            name=f"key {n}",
            secret_hash=f"bench{n:059d}",
            last_four=f"B{n:03d}",
        )
        for n in range(keys)
    ]
    calls = 0
    for hour in range(31 * 24):
        at = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=hour)
        for key in api_keys:
            for model in MODELS:
                calls += 1
                debit_usage(
                    UsageEvent(
                        group=group,
                        api_key=key,
                        model=model,
                        request_id=f"bench-{calls}",
                        input_tokens=1000,
                        output_tokens=500,
                        input_cost_micros=3_000,
                        output_cost_micros=7_501,
                        request_cost_micros=10_000,
                        cost_micros=20_501,
                        created_at=at,
                    )
                )
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=3)
    keys = parser.parse_args().keys
    try:
        with transaction.atomic():
            started = time.perf_counter()
            calls = seed(keys)
            print(f"seeded {calls} calls in {time.perf_counter() - started:.1f}s")

            started = time.perf_counter()
            report = issue_invoices_for_period(PERIOD, actor_label="bench")
            issued = time.perf_counter() - started
            [invoice] = report.issued
            lines = invoice.lines.count()
            print(f"issued {invoice.number}: {lines} lines in {issued * 1000:.0f} ms")

            started = time.perf_counter()
            pdf = render_invoice_pdf(invoice)
            rendered = time.perf_counter() - started
            print(
                f"rendered PDF: {len(pdf) / 1024:.0f} KiB in {rendered * 1000:.0f} ms"
            )

            started = time.perf_counter()
            again = issue_invoices_for_period(PERIOD, actor_label="bench")
            rerun = time.perf_counter() - started
            print(
                f"rerun: {len(again.issued)} issued, {again.already_issued} already, "
                f"in {rerun * 1000:.0f} ms"
            )
            raise Rollback
    except Rollback:
        print("rolled back: nothing kept, no number used")


if __name__ == "__main__":
    main()
