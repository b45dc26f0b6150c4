"""Receipts for credit purchases and automatic top-ups."""

import pytest
from django.db import transaction
from django.urls import reverse

from billing.ledger import post_entry
from billing.models import LedgerKind
from billing.signals import balance_changed
from groups.models import AuditAction, AuditEntry
from invoices.models import DocumentSequence, Receipt
from invoices.services import card_of, issue_missing_receipts, issue_receipt
from tests.factories import ApiKeyFactory
from tests.invoicing import buy_credits, use_api
from tests.stripe_fixtures import add_card


def test_a_purchase_gets_a_receipt_once_it_is_committed(
    group, django_capture_on_commit_callbacks
):
    group.address_line1 = "1 Main Street"
    group.tax_id = "US-12"
    group.save()
    with django_capture_on_commit_callbacks() as callbacks:
        entry = buy_credits(group, 25_000_000)
        assert not Receipt.objects.exists()
    for callback in callbacks:
        callback()

    receipt = Receipt.objects.get()
    assert receipt.ledger_entry == entry
    assert receipt.number.startswith("RCT-") and receipt.number.endswith("-000001")
    assert (receipt.kind, receipt.amount_micros) == (LedgerKind.PURCHASE, 25_000_000)
    assert receipt.paid_at == entry.created_at
    assert receipt.customer_name == group.name
    assert receipt.customer_address_lines == ["1 Main Street"]
    assert receipt.customer_tax_id == "US-12"
    audit = AuditEntry.objects.get(group=group, action=AuditAction.RECEIPT_ISSUED)
    assert audit.target == receipt.number
    assert audit.changes["amount_micros"] == 25_000_000
    assert not AuditEntry.objects.filter(action=AuditAction.INVOICE_ISSUED).exists()


def test_an_automatic_top_up_gets_a_receipt(group, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        buy_credits(group, 10_000_000, kind=LedgerKind.AUTO_TOP_UP)
    receipt = Receipt.objects.get()
    assert receipt.kind == LedgerKind.AUTO_TOP_UP
    assert receipt.get_kind_display() == "Automatic top-up"


def test_grants_and_usage_get_no_receipt(group, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_entry(group.pk, LedgerKind.GRANT, 5_000_000, actor_label="operator")
        use_api(ApiKeyFactory(group=group), "sonar", at=None)
    assert not Receipt.objects.exists()
    assert issue_missing_receipts() == []


def test_the_signal_firing_twice_still_makes_one_receipt(
    group, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        entry = buy_credits(group, 7_000_000)
        for _ in range(2):
            balance_changed.send(
                sender=type(entry),
                group_id=group.pk,
                before_micros=0,
                after_micros=7_000_000,
                kind=LedgerKind.PURCHASE,
                entry_id=entry.pk,
            )
    assert Receipt.objects.count() == 1
    assert issue_receipt(entry.pk) is None
    assert DocumentSequence.objects.get().last_value == 1


def test_a_rolled_back_purchase_gets_no_receipt(
    group, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        buy_credits(group, 7_000_000)
        raise RuntimeError("the charge failed")
    assert callbacks == []
    assert not Receipt.objects.exists()


def test_a_receipt_missed_after_commit_is_issued_by_the_sweep(group):
    # Without running on-commit hooks, as if the process died right after commit.
    entry = buy_credits(group, 9_000_000)
    assert not Receipt.objects.exists()
    [receipt] = issue_missing_receipts()
    assert receipt.ledger_entry == entry
    assert issue_missing_receipts() == []


def test_receipt_numbers_are_gapless_and_separate_from_invoices(
    group, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for amount in (5_000_000, 6_000_000, 7_000_000):
            buy_credits(group, amount)
    numbers = sorted(Receipt.objects.values_list("number", flat=True))
    assert [n.rsplit("-", 1)[1] for n in numbers] == ["000001", "000002", "000003"]


def test_a_card_purchase_gets_a_receipt_naming_the_card(
    stripe_base, admin_client, group, admin_user, django_capture_on_commit_callbacks
):
    add_card(group, admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("billing:buy-credits", args=[group.slug]), {"amount": "20.00"}
        )
    assert response.status_code == 302
    receipt = Receipt.objects.get(group=group)
    assert receipt.amount_micros == 20_000_000
    assert (receipt.card_brand.lower(), receipt.card_last4) == ("visa", "4242")


def test_an_entry_without_a_payment_shows_no_card(group):
    entry, _ = post_entry(group.pk, LedgerKind.PURCHASE, 5_000_000)
    assert card_of(entry) == {"card_brand": "", "card_last4": ""}
