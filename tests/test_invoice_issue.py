"""Issuing the monthly usage invoice: lines, totals, numbers, snapshots, the job."""

from datetime import UTC, date, datetime
from io import BytesIO, StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Sum
from django.test import override_settings
from pypdf import PdfReader

from billing.ledger import post_entry
from billing.models import LedgerEntry, LedgerKind
from groups.models import AuditAction, AuditEntry
from groups.services import update_group_details
from invoices.models import DocumentSequence, Invoice, InvoiceLine
from invoices.services import InvoiceMismatchError, issue_invoice
from invoices.tasks import issue_monthly_invoices
from tests.factories import ApiKeyFactory, GroupFactory
from tests.invoicing import use_api
from usage.models import UsageRollup

MARCH = date(2026, 3, 1)


def march(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def keys(group):
    post_entry(group.pk, LedgerKind.GRANT, 50_000_000, actor_label="operator")
    return (
        ApiKeyFactory(group=group, name="production", last_four="7F3K"),
        ApiKeyFactory(group=group, name="staging", last_four="Q9ZD"),
    )


@pytest.fixture
def march_usage(group, keys):
    """Calls by two keys on two models in March, and some just outside it."""
    production, staging = keys
    use_api(production, "sonar-pro", march(1, 0, 0))  # the month's first minute
    use_api(production, "sonar-pro", march(15), input_cost=3_001)
    use_api(production, "sonar", march(31, 23, 59), output_cost=501)
    use_api(staging, "sonar-pro", march(2), search_queries=3, search_cost=15_000)
    use_api(staging, "sonar", march(20), input_tokens=7, input_cost=7)
    use_api(production, "sonar", datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    use_api(staging, "sonar-pro", datetime(2026, 4, 1, 0, 0, tzinfo=UTC))
    return keys


def march_usage_debits(group) -> int:
    total = LedgerEntry.objects.filter(
        group=group,
        kind=LedgerKind.USAGE,
        created_at__gte=march(1, 0),
        created_at__lt=datetime(2026, 4, 1, tzinfo=UTC),
    ).aggregate(total=Sum("amount_micros"))["total"]
    return -total


def generate(*args: str) -> str:
    out = StringIO()
    with time_machine.travel(datetime(2026, 4, 2, 9, tzinfo=UTC), tick=False):
        call_command("generate_invoices", *args, stdout=out)
    return out.getvalue()


@pytest.mark.usefixtures("march_usage")
def test_one_invoice_whose_lines_name_each_key_and_add_up_to_the_debits(
    group, admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        output = generate("--period", "2026-03")

    invoice = Invoice.objects.get(group=group)
    lines = list(invoice.lines.all())
    assert [line.description for line in lines] == [
        "sonar (7F3K)",
        "sonar (Q9ZD)",
        "sonar-pro (7F3K)",
        "sonar-pro (Q9ZD)",
    ]
    assert [line.key_name for line in lines] == [
        "production",
        "staging",
        "production",
        "staging",
    ]
    assert [line.requests for line in lines] == [1, 1, 2, 1]
    assert lines[3].search_queries == 3
    # Integer micros, exactly: 20_500 + 20_501 + 13_501 + 35_500 + 17_507.
    assert invoice.total_micros == sum(line.amount_micros for line in lines)
    assert invoice.total_micros == 107_509 == march_usage_debits(group)
    assert invoice.credits_applied_micros == invoice.total_micros
    assert invoice.number == "INV-2026-000001"
    assert "INV-2026-000001" in output
    assert "2026-03: 1 issued, 0 already issued, 0 failed" in output

    page = admin_client.get(f"/g/{group.slug}/invoices/{invoice.number}/")
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("sonar-pro (7F3K)", "sonar (Q9ZD)", "$0.107509", group.name):
        assert text in html

    response = admin_client.get(f"/g/{group.slug}/invoices/{invoice.number}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(response.content)).pages)
    for text_part in (
        "INV-2026-000001",
        "sonar-pro (7F3K)",
        "sonar-pro (Q9ZD)",
        "sonar (7F3K)",
        "Subtotal sonar-pro",
        "$0.107509",
        "March 2026",
        group.name,
    ):
        assert text_part in text


@pytest.mark.usefixtures("march_usage")
def test_running_the_job_again_changes_nothing(group):
    generate("--period", "2026-03")
    first = Invoice.objects.get(group=group)
    output = generate("--period", "2026-03")

    assert "0 issued, 1 already issued" in output
    assert list(Invoice.objects.values_list("pk", "number")) == [
        (first.pk, first.number)
    ]
    assert InvoiceLine.objects.count() == 4
    assert DocumentSequence.objects.get().last_value == 1
    assert AuditEntry.objects.filter(action=AuditAction.INVOICE_ISSUED).count() == 1


@pytest.mark.usefixtures("march_usage")
def test_issuing_is_audited(group):
    generate("--period", "2026-03")
    entry = AuditEntry.objects.get(group=group, action=AuditAction.INVOICE_ISSUED)
    assert entry.target == "INV-2026-000001"
    assert entry.actor_label == "operator"
    assert entry.changes == {"period": "2026-03", "total_micros": 107_509, "lines": 4}


def test_numbers_run_on_without_gaps_across_groups_and_months(keys):
    other_key = ApiKeyFactory(group=GroupFactory())
    use_api(keys[0], "sonar", march(3))
    use_api(other_key, "sonar", march(3))
    use_api(keys[0], "sonar", datetime(2026, 2, 3, tzinfo=UTC))
    generate("--period", "2026-02")
    generate("--period", "2026-03")
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        "INV-2026-000001",
        "INV-2026-000002",
        "INV-2026-000003",
    ]


def test_groups_without_usage_in_the_month_get_no_invoice(group, keys):
    use_api(keys[0], "sonar", datetime(2026, 2, 10, tzinfo=UTC))
    GroupFactory()
    assert "0 issued, 0 already issued" in generate("--period", "2026-03")
    assert not Invoice.objects.exists()


@pytest.mark.usefixtures("march_usage")
def test_details_are_copied_at_issue_and_later_edits_never_rewrite_them(
    group, admin_user, admin_client
):
    update_group_details(
        group,
        admin_user,
        {
            "name": "Acme Research GmbH",
            "address_line1": "Hauptstrasse 1",
            "postal_code": "10115",
            "city": "Berlin",
            "country": "DE",
            "tax_id": "DE123456789",
        },
    )
    with override_settings(SELLER_NAME="Portal Seller Ltd", SELLER_TAX_ID="GB999"):
        generate("--period", "2026-03")
    update_group_details(
        group, admin_user, {"name": "Renamed Inc.", "tax_id": "US-NEW"}
    )
    key = group.api_keys.get(last_four="7F3K")
    key.name = "renamed-key"
    key.save()

    with override_settings(SELLER_NAME="Someone Else"):
        invoice = Invoice.objects.get(group=group)
        page = admin_client.get(f"/g/{group.slug}/invoices/{invoice.number}/")
    # The page's chrome names the group as it is now; the document does not.
    html = page.content.decode().split("<article", 1)[1].split("</article>")[0]
    assert invoice.customer_name == "Acme Research GmbH"
    assert invoice.customer_address_lines == [
        "Hauptstrasse 1",
        "10115 Berlin",
        "Germany",
    ]
    assert invoice.customer_tax_id == "DE123456789"
    assert (invoice.seller_name, invoice.seller_tax_id) == (
        "Portal Seller Ltd",
        "GB999",
    )
    assert "Acme Research GmbH" in html and "Renamed Inc." not in html
    assert "DE123456789" in html and "US-NEW" not in html
    assert "Portal Seller Ltd" in html and "Someone Else" not in html
    assert "production" in html and "renamed-key" not in html


@pytest.mark.usefixtures("march_usage")
def test_an_issued_invoice_cannot_be_edited(group):
    generate("--period", "2026-03")
    invoice = Invoice.objects.get(group=group)
    invoice.customer_name = "Rewritten"
    with pytest.raises(ValueError, match="never edited"):
        invoice.save()


@pytest.mark.usefixtures("march_usage")
def test_usage_that_disagrees_with_the_ledger_issues_nothing(group):
    # A rollup the ledger knows nothing about: the invoice would overcharge.
    rollup = UsageRollup.objects.filter(group=group).first()
    UsageRollup.objects.filter(pk=rollup.pk).update(cost_micros=rollup.cost_micros + 1)
    with pytest.raises(InvoiceMismatchError):
        issue_invoice(group.pk, MARCH, actor_label="test")
    assert not Invoice.objects.exists()
    assert not DocumentSequence.objects.filter(last_value__gt=0).exists()


@pytest.mark.usefixtures("march_usage")
def test_a_failing_group_does_not_hold_up_the_others_and_the_command_says_so(group):
    healthy_key = ApiKeyFactory(group=GroupFactory())
    use_api(healthy_key, "sonar", march(5))
    rollup = UsageRollup.objects.filter(group=group).first()
    UsageRollup.objects.filter(pk=rollup.pk).update(cost_micros=rollup.cost_micros + 1)

    with pytest.raises(Exception, match=f"could not invoice group\\(s\\) {group.pk}"):
        generate("--period", "2026-03")
    assert list(Invoice.objects.values_list("group_id", "number")) == [
        (healthy_key.group_id, "INV-2026-000001")
    ]


@pytest.mark.usefixtures("march_usage")
def test_the_beat_task_issues_for_the_previous_month(group):
    with time_machine.travel(datetime(2026, 4, 1, 0, 15, tzinfo=UTC), tick=False):
        result = issue_monthly_invoices.delay().get()
        again = issue_monthly_invoices.delay().get()
    assert result["issued"] == 1
    assert (again["issued"], again["already_issued"]) == (0, 1)
    assert Invoice.objects.get(group=group).period == MARCH


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026-13"], "'2026-13' is not a month: use YYYY-MM"),
        (["--period", "March"], "'March' is not a month: use YYYY-MM"),
        (["--period", "2026-3"], "'2026-3' is not a month: use YYYY-MM"),
        (["--period", "2026-04"], "2026-04 has not ended yet"),
        (["--period", "2027-01"], "2027-01 has not ended yet"),
    ],
)
@pytest.mark.usefixtures("march_usage")
def test_bad_period_is_refused_and_changes_nothing(args, message):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=message):
        generate(*args)
    assert not Invoice.objects.exists()


@pytest.mark.usefixtures("march_usage")
def test_command_defaults_to_the_previous_month(group):
    assert "2026-03: 1 issued" in generate()
    assert Invoice.objects.get(group=group).period == MARCH


@pytest.mark.usefixtures("march_usage")
def test_demo_seed_invoices_ended_months_once(group, admin_user):
    from invoices import demo

    lines: list[str] = []
    with time_machine.travel(datetime(2026, 4, 15, tzinfo=UTC), tick=False):
        demo.seed(group, admin_user, lines.append)
        demo.seed(group, admin_user, lines.append)
    # February and March have ended; April, with one call, has not.
    assert sorted(Invoice.objects.values_list("period", flat=True)) == [
        date(2026, 2, 1),
        MARCH,
    ]
    assert lines[0].startswith("Invoices: 2 issued")
    assert lines[1].startswith("Invoices: 0 issued")


@pytest.mark.usefixtures("march_usage")
def test_the_job_refuses_a_month_that_has_not_ended(group):
    from invoices.periods import PeriodError

    with (
        time_machine.travel(datetime(2026, 3, 31, 23, 59, tzinfo=UTC), tick=False),
        pytest.raises(PeriodError, match="2026-03 has not ended yet"),
    ):
        issue_monthly_invoices.delay("2026-03").get()
    assert not Invoice.objects.exists()
