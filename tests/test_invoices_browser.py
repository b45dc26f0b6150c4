"""An admin finds last month's invoice in the browser and downloads its PDF."""

from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from billing.ledger import post_entry
from billing.models import LedgerKind
from invoices.services import issue_invoice
from tests.factories import DEFAULT_PASSWORD, ApiKeyFactory
from tests.invoicing import use_api

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_opens_the_invoice_and_downloads_the_pdf(
    live_server, page, group, admin_user, screenshot_dir
):
    post_entry(group.pk, LedgerKind.GRANT, 10_000_000, actor_label="operator")
    key = ApiKeyFactory(group=group, name="production", last_four="7F3K")
    use_api(key, "sonar-pro", datetime(2026, 3, 9, tzinfo=UTC))
    invoice = issue_invoice(group.pk, date(2026, 3, 1), actor_label="test")

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", admin_user.email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/g/{group.slug}/")
    page.get_by_role("navigation", name="Group sections").get_by_role(
        "link", name="Invoices"
    ).click()
    page.get_by_role("link", name=invoice.number, exact=True).click()

    assert page.get_by_role("heading", name=f"Invoice {invoice.number}").is_visible()
    assert page.get_by_role("link", name="sonar-pro (7F3K)").is_visible()
    page.screenshot(path=str(screenshot_dir / "invoice-detail.png"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{invoice.number}.pdf"
    text = PdfReader(download.path()).pages[0].extract_text()
    assert "sonar-pro (7F3K)" in text
