"""Two workers issuing at once: one document each, numbers gapless and unique."""

import threading
from datetime import UTC, date, datetime

import pytest
from django.db import connections

from billing.ledger import post_entry
from billing.models import LedgerKind
from invoices.models import DocumentSequence, Invoice, Receipt, Series
from invoices.services import issue_invoices_for_period, issue_receipt
from tests.factories import ApiKeyFactory, GroupFactory
from tests.invoicing import buy_credits, use_api

GROUPS = 6
MONTHS = [date(2026, month, 1) for month in range(1, 7)]


def _run_together(target, *args, workers: int = 2) -> list[BaseException]:
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            target(*args)
        except BaseException as exc:  # pragma: no cover - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _numbers(model, series: str) -> list[int]:
    numbers = model.objects.values_list("number", flat=True)
    assert all(number.startswith(f"{series}-2026-") for number in numbers)
    return sorted(int(number.rsplit("-", 1)[1]) for number in numbers)


@pytest.mark.django_db(transaction=True)
def test_two_workers_issue_one_invoice_per_group_with_gapless_numbers(postgres):
    keys = []
    for _ in range(GROUPS):
        group = GroupFactory()
        post_entry(group.pk, LedgerKind.GRANT, 10_000_000, actor_label="operator")
        keys.append(ApiKeyFactory(group=group))
    for month in MONTHS:
        for key in keys:
            use_api(key, "sonar", datetime(month.year, month.month, 2, tzinfo=UTC))

    # Each month is a fresh race between two workers over the same groups.
    for month in MONTHS:
        reports: list = []

        def issue(period=month, reports=reports):
            reports.append(issue_invoices_for_period(period, actor_label="test"))

        assert _run_together(issue) == []
        assert sum(len(report.issued) for report in reports) == GROUPS
        assert all(report.failed == [] for report in reports)
        assert Invoice.objects.filter(period=month).count() == GROUPS

    expected = len(MONTHS) * GROUPS
    assert _numbers(Invoice, "INV") == list(range(1, expected + 1))
    assert DocumentSequence.objects.get(series=Series.INVOICE).last_value == expected
    for key in keys:
        assert Invoice.objects.filter(group_id=key.group_id).count() == len(MONTHS)


@pytest.mark.django_db(transaction=True)
def test_receipts_issued_twice_at_once_are_made_once_with_gapless_numbers(postgres):
    group = GroupFactory()
    entries = [buy_credits(group, 1_000_000 * n) for n in range(1, 11)]
    # The on-commit hook already issued them; start over to race for them.
    Receipt.objects.all().delete()
    DocumentSequence.objects.all().delete()

    def issue_all() -> None:
        for entry in entries:
            issue_receipt(entry.pk)

    for _ in range(3):
        assert _run_together(issue_all, workers=3) == []
    assert Receipt.objects.count() == len(entries)
    assert _numbers(Receipt, "RCT") == list(range(1, len(entries) + 1))
