"""Invoice history, detail pages and PDFs: admins only, and only their group's."""

from datetime import UTC, date, datetime
from io import BytesIO
from urllib.parse import parse_qs, urlsplit

import pytest
from pypdf import PdfReader

from billing.ledger import post_entry
from billing.models import LedgerKind
from invoices.models import Receipt
from invoices.services import issue_invoice, issue_receipt
from tests.factories import ApiKeyFactory, GroupFactory, MembershipFactory
from tests.invoicing import buy_credits, use_api

MARCH = date(2026, 3, 1)


@pytest.fixture
def invoice(group):
    post_entry(group.pk, LedgerKind.GRANT, 10_000_000, actor_label="operator")
    key = ApiKeyFactory(group=group, name="production", last_four="7F3K")
    use_api(key, "sonar-pro", datetime(2026, 3, 9, 10, tzinfo=UTC))
    use_api(key, "sonar", datetime(2026, 3, 10, 10, tzinfo=UTC))
    return issue_invoice(group.pk, MARCH, actor_label="test")


@pytest.fixture
def receipt(group):
    entry = buy_credits(group, 25_000_000)
    return issue_receipt(entry.pk)


def _urls(group, invoice, receipt) -> list[str]:
    base = f"/g/{group.slug}/invoices/"
    return [
        base,
        f"{base}{invoice.number}/",
        f"{base}{invoice.number}/pdf/",
        f"{base}receipts/{receipt.number}/",
        f"{base}receipts/{receipt.number}/pdf/",
    ]


def test_admin_sees_every_page(group, invoice, receipt, admin_client):
    for url in _urls(group, invoice, receipt):
        assert admin_client.get(url).status_code == 200, url


def test_member_is_refused(group, invoice, receipt, member_client):
    for url in _urls(group, invoice, receipt):
        assert member_client.get(url).status_code == 403, url


def test_outsider_cannot_tell_the_group_exists(
    group, invoice, receipt, outsider_client
):
    for url in _urls(group, invoice, receipt):
        assert outsider_client.get(url).status_code == 404, url


def test_anonymous_is_sent_to_sign_in(group, invoice, receipt, client):
    for url in _urls(group, invoice, receipt):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/")


def test_an_admin_elsewhere_cannot_reach_this_groups_invoice_through_their_own(
    group, invoice, receipt, outsider, outsider_client
):
    own = outsider.memberships.get().group
    for url in _urls(own, invoice, receipt)[1:]:
        assert outsider_client.get(url).status_code == 404, url


def test_history_lists_invoices_and_receipts(group, invoice, receipt, admin_client):
    html = admin_client.get(f"/g/{group.slug}/invoices/").content.decode()
    assert invoice.number in html and receipt.number in html
    assert "March 2026" in html
    assert "$25.00" in html
    assert f"/g/{group.slug}/invoices/{invoice.number}/pdf/" in html


def test_history_filters_by_year(group, invoice, admin_client):
    entry = buy_credits(group, 5_000_000)
    old = issue_receipt(entry.pk)
    Receipt.objects.filter(pk=old.pk).update(paid_at=datetime(2025, 6, 1, tzinfo=UTC))
    url = f"/g/{group.slug}/invoices/"

    html_2025 = admin_client.get(url, {"year": 2025}).content.decode()
    html_2026 = admin_client.get(url, {"year": 2026}).content.decode()
    assert old.number in html_2025 and invoice.number not in html_2025
    assert invoice.number in html_2026 and old.number not in html_2026
    assert '<option value="2025"' in html_2026


def test_history_rejects_a_year_it_does_not_have(group, invoice, admin_client):
    response = admin_client.get(f"/g/{group.slug}/invoices/", {"year": "1999"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert invoice.number in response.content.decode()


def test_empty_history_says_what_to_expect(group, admin_client):
    html = admin_client.get(f"/g/{group.slug}/invoices/").content.decode()
    assert "No invoices or receipts yet" in html


def test_each_line_links_to_its_usage_for_that_key_model_and_month(
    group, invoice, admin_client
):
    html = admin_client.get(
        f"/g/{group.slug}/invoices/{invoice.number}/"
    ).content.decode()
    line = invoice.lines.get(model="sonar-pro")
    links = [
        part.split('"', 1)[0].replace("&amp;", "&")
        for part in html.split('href="')[1:]
        # Lines link with a query; the sidebar's plain Usage link has none.
        if "/usage/?" in part.split('"', 1)[0]
    ]
    by_model = {parse_qs(urlsplit(link).query)["model"][0]: link for link in links}
    link = by_model["sonar-pro"]
    assert urlsplit(link).path == f"/g/{group.slug}/usage/"
    assert parse_qs(urlsplit(link).query) == {
        "range": ["custom"],
        "start": ["2026-03-01"],
        "end": ["2026-03-31"],
        "model": ["sonar-pro"],
        "key": [str(line.api_key_id)],
    }


def test_pdf_is_a_private_download(group, invoice, admin_client):
    response = admin_client.get(f"/g/{group.slug}/invoices/{invoice.number}/pdf/")
    assert response["Content-Disposition"] == (
        f'attachment; filename="{invoice.number}.pdf"'
    )
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF")


def test_receipt_shows_the_card_that_paid_and_none_when_there_was_none(
    group, receipt, admin_client
):
    url = f"/g/{group.slug}/invoices/receipts/{receipt.number}/"
    assert "ending in" not in admin_client.get(url).content.decode()

    entry = buy_credits(group, 30_000_000)
    carded = Receipt.objects.create(
        group=group,
        number="RCT-2026-999999",
        issued_at=entry.created_at,
        currency="usd",
        ledger_entry=entry,
        kind=entry.kind,
        paid_at=entry.created_at,
        amount_micros=entry.amount_micros,
        card_brand="visa",
        card_last4="4242",
        customer_name=group.name,
        seller_name="Seller",
    )
    html = admin_client.get(
        f"/g/{group.slug}/invoices/receipts/{carded.number}/"
    ).content.decode()
    assert "Visa ending in 4242" in html
    pdf = admin_client.get(f"/g/{group.slug}/invoices/receipts/{carded.number}/pdf/")
    text = PdfReader(BytesIO(pdf.content)).pages[0].extract_text()
    assert "Visa ending in 4242" in text
    assert "$30.00" in text
    assert "RCT-2026-999999" in text


def test_only_get_is_allowed(group, invoice, admin_client):
    url = f"/g/{group.slug}/invoices/{invoice.number}/"
    assert admin_client.post(url).status_code == 405


def test_sidebar_links_admins_to_the_history(group, admin_client, member_user):
    html = admin_client.get(f"/g/{group.slug}/").content.decode()
    assert f'href="/g/{group.slug}/invoices/"' in html


def test_another_groups_documents_never_show(group, invoice, admin_client):
    other = GroupFactory()
    MembershipFactory(group=other)
    post_entry(other.pk, LedgerKind.GRANT, 1_000_000, actor_label="operator")
    foreign_entry = buy_credits(other, 5_000_000)
    foreign = issue_receipt(foreign_entry.pk)
    html = admin_client.get(f"/g/{group.slug}/invoices/").content.decode()
    assert foreign.number not in html


def test_overview_shows_admins_the_latest_invoice_and_members_nothing_of_it(
    group, invoice, admin_client, member_client
):
    url = f"/g/{group.slug}/"
    admin_html = admin_client.get(url).content.decode()
    member_html = member_client.get(url).content.decode()
    assert "Latest invoice" in admin_html and invoice.number in admin_html
    assert "Latest invoice" not in member_html and invoice.number not in member_html


def test_seller_country_is_named_like_the_buyers(group, invoice, receipt, admin_client):
    # The default SELLER_ADDRESS ends in a code, as an operator may write it.
    for document in (invoice, receipt):
        assert document.seller_address.endswith("\nUS")
    for url in _urls(group, invoice, receipt)[1:]:
        response = admin_client.get(url)
        if url.endswith("/pdf/"):
            text = PdfReader(BytesIO(response.content)).pages[0].extract_text()
        else:
            text = response.content.decode()
        assert "United States of America" in text, url
        assert "\nUS\n" not in text and "US<br>" not in text, url


def test_pdf_period_reads_as_on_the_page(group, invoice, admin_client):
    base = f"/g/{group.slug}/invoices/{invoice.number}/"
    period = "1 Mar to 31 Mar 2026 (UTC)"
    assert period in admin_client.get(base).content.decode()
    pdf = admin_client.get(f"{base}pdf/")
    assert period in PdfReader(BytesIO(pdf.content)).pages[0].extract_text()
