"""What invoice lines show: billed token counts only, amounts alike everywhere."""

from datetime import UTC, date, datetime, timedelta
from io import BytesIO

import pytest
from pypdf import PdfReader

from billing.ledger import post_entry
from billing.models import LedgerKind, ModelPrice
from invoices.services import issue_invoice
from tests.factories import ApiKeyFactory
from tests.invoicing import use_api

MARCH = date(2026, 3, 1)


def _use_with_extra_tokens(key, model: str, at: datetime):
    # The local backend reports these for every model; only some models price them.
    return use_api(key, model, at, citation_tokens=29_025, reasoning_tokens=247_350)


@pytest.fixture
def invoice(group, db):
    post_entry(group.pk, LedgerKind.GRANT, 10_000_000, actor_label="operator")
    key = ApiKeyFactory(group=group, name="production", last_four="7F3K")
    march = datetime(2026, 3, 9, 10, tzinfo=UTC)
    # Lines exact to the micro whose total is whole cents: $0.010001 + $0.009999.
    for model, cost in (("sonar-pro", 10_001), ("sonar", 9_999)):
        use_api(key, model, march, input_cost=0, output_cost=0, request_cost=cost)
    return issue_invoice(group.pk, MARCH, actor_label="test")


def _invoice_with_extra_tokens(group):
    post_entry(group.pk, LedgerKind.GRANT, 10_000_000, actor_label="operator")
    key = ApiKeyFactory(group=group, name="production", last_four="7F3K")
    march = datetime(2026, 3, 9, 10, tzinfo=UTC)
    _use_with_extra_tokens(key, "sonar-pro", march)
    _use_with_extra_tokens(key, "sonar-deep-research", march)
    return issue_invoice(group.pk, MARCH, actor_label="test")


def _line_text(html: str, model: str) -> str:
    return html.split(f"{model} (7F3K)")[1].split("</th>")[0]


def test_invoice_shows_extra_token_counts_only_for_models_billing_them(
    group, admin_client
):
    invoice = _invoice_with_extra_tokens(group)
    html = admin_client.get(f"/g/{group.slug}/invoices/{invoice.number}/").content
    text = html.decode()
    assert "citation tokens" not in _line_text(text, "sonar-pro")
    assert "reasoning tokens" not in _line_text(text, "sonar-pro")
    deep = _line_text(text, "sonar-deep-research")
    assert "29,025 citation tokens, 247,350 reasoning tokens" in deep


def test_invoice_pdf_shows_extra_token_counts_only_for_models_billing_them(
    group, admin_client
):
    invoice = _invoice_with_extra_tokens(group)
    pdf = admin_client.get(f"/g/{group.slug}/invoices/{invoice.number}/pdf/")
    text = " ".join(PdfReader(BytesIO(pdf.content)).pages[0].extract_text().split())
    assert text.count("29,025 citation tokens") == 1
    assert text.count("247,350 reasoning tokens") == 1


def test_extra_tokens_show_for_a_model_that_billed_them_part_of_the_month(
    group, admin_client
):
    ModelPrice.objects.create(
        model="sonar-pro",
        effective_from=datetime(2026, 3, 20, tzinfo=UTC),
        citation_per_million_micros=1_000_000,
    )
    ModelPrice.objects.create(
        model="sonar-pro",
        effective_from=datetime(2026, 3, 20, tzinfo=UTC) + timedelta(days=30),
    )
    invoice = _invoice_with_extra_tokens(group)
    html = admin_client.get(f"/g/{group.slug}/invoices/{invoice.number}/").content
    line = _line_text(html.decode(), "sonar-pro")
    assert "29,025 citation tokens" in line and "reasoning" not in line


def test_invoice_total_reads_the_same_in_the_list_page_and_pdf(
    group, invoice, admin_client
):
    base = f"/g/{group.slug}/invoices/"
    total = "$0.020000"
    assert total in admin_client.get(base).content.decode()
    assert total in admin_client.get(f"{base}{invoice.number}/").content.decode()
    pdf = admin_client.get(f"{base}{invoice.number}/pdf/")
    assert total in PdfReader(BytesIO(pdf.content)).pages[0].extract_text()
