"""Stripe idempotency keys: stable for every retry of a row, never shared with
another database on the same Stripe account."""

import pytest

from billing.models import BillingAccount, Payment, PaymentKind, PaymentMethod
from billing.payments import _new_payment, charge_payment
from billing.services import default_card, ensure_stripe_customer
from billing.stripe_api import client
from portal.money import to_micros
from tests.stripe_fixtures import add_card

pytestmark = pytest.mark.django_db


def _spy_on(monkeypatch, service, method: str) -> list[str]:
    """Record the idempotency key of every call to `service.method`."""
    sent: list[str] = []
    real = getattr(service, method)

    def spy(*args, **kwargs):
        sent.append(kwargs["options"]["idempotency_key"])
        return real(*args, **kwargs)

    monkeypatch.setattr(service, method, spy)
    return sent


def _payment(group, card=None) -> Payment:
    card = card or PaymentMethod(group=group, brand="visa", last4="4242")
    return _new_payment(group.pk, PaymentKind.PURCHASE, to_micros("10"), card)


def test_retrying_a_payment_sends_the_same_key(
    stripe_base, group, admin_user, monkeypatch
):
    add_card(group, admin_user)
    card = default_card(group.pk)
    customer = ensure_stripe_customer(group)
    payment = _payment(group, card)
    sent = _spy_on(monkeypatch, client().v1.payment_intents, "create")

    charge_payment(payment, customer, card, off_session=False)
    charge_payment(
        Payment.objects.get(pk=payment.pk), customer, card, off_session=False
    )

    assert sent == [payment.idempotency_key] * 2
    assert sent[0].startswith(f"portal-payment-{payment.pk}-")


def test_the_same_payment_id_in_another_database_sends_another_key(group):
    first = _payment(group)
    first_pk, first_key = first.pk, first.idempotency_key
    # Another database (reset, or staging beside production): the same id,
    # given to a row created there afresh.
    first.delete()
    again = Payment.objects.create(
        pk=first_pk,
        group_id=group.pk,
        kind=PaymentKind.PURCHASE,
        amount_micros=to_micros("10"),
        currency="usd",
    )

    assert again.pk == first_pk
    assert again.idempotency_key != first_key
    assert len(again.idempotency_token) == len(first.idempotency_token) == 32


def test_payments_older_than_the_token_keep_the_key_they_always_sent(group):
    payment = _payment(group)
    Payment.objects.filter(pk=payment.pk).update(idempotency_token="")

    payment.refresh_from_db()

    assert payment.idempotency_key == f"portal-payment-{payment.pk}"


def test_an_unsaved_payment_has_no_key():
    with pytest.raises(ValueError, match="once it is saved"):
        _ = Payment(amount_micros=to_micros("1")).idempotency_key


def test_the_stripe_customer_is_keyed_by_the_account_not_the_group_id(
    stripe_base, group, monkeypatch
):
    sent = _spy_on(monkeypatch, client().v1.customers, "create")
    ensure_stripe_customer(group)
    first_key = BillingAccount.objects.get(pk=group.pk).customer_idempotency_key
    # Another database: the same group id, its account created there afresh.
    BillingAccount.objects.filter(pk=group.pk).delete()
    ensure_stripe_customer(group)
    again = BillingAccount.objects.get(pk=group.pk)

    assert sent[0] == first_key
    assert sent[1] == again.customer_idempotency_key
    assert sent[0] != sent[1]
    assert all(key.startswith(f"portal-customer-{group.pk}-") for key in sent)
