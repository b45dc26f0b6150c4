"""Buying credits and Stripe webhooks: every charge credited exactly once."""

import copy
import json
import threading

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from billing.ledger import get_balance
from billing.models import (
    LedgerEntry,
    LedgerKind,
    Payment,
    PaymentKind,
    PaymentStatus,
    StripeEvent,
)
from billing.payments import (
    DuplicatePurchase,
    _new_payment,
    purchase_credits,
    settle_from_intent,
    settle_stale_payments,
)
from billing.services import BillingError, ensure_stripe_customer
from billing.stripe_api import PaymentError, client
from groups.models import AuditAction, AuditEntry, Role
from portal.money import to_micros
from tests.factories import GroupFactory, MembershipFactory
from tests.stripe_fixtures import (
    CHARGE_DECLINED_CARD,
    add_card,
    payment_intents_of,
    sign,
    stripe_events,
)

WEBHOOK = "/stripe/webhook/"


def _deliver(payload: bytes, signature: str | None = None, client=None):
    client = client or Client()
    return client.post(
        WEBHOOK,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature or sign(payload),
    )


def _event_for(base: str, intent_id: str, event_type: str) -> dict:
    for event in stripe_events(base, event_type):
        if event["data"]["object"]["id"] == intent_id:
            return event
    raise AssertionError(f"no {event_type} event for {intent_id}")


def _credits(payment: Payment) -> int:
    return LedgerEntry.objects.filter(payment=payment).count()


def test_webhook_url_name_is_the_one_run_localstripe_reverses():
    assert reverse("billing:stripe-webhook") == WEBHOOK


@pytest.mark.django_db
def test_buying_credits_charges_the_default_card_once(stripe_base, group, admin_user):
    add_card(group, admin_user)

    payment = purchase_credits(group, admin_user, to_micros("25.00"))

    assert payment.status == PaymentStatus.SUCCEEDED
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
    assert get_balance(group.pk) == 25_000_000
    entry = LedgerEntry.objects.get(payment=payment)
    assert entry.kind == LedgerKind.PURCHASE
    assert entry.payment.card_last4 == "4242"
    assert entry.actor == admin_user
    intents = payment_intents_of(stripe_base, group.billing_account.stripe_customer_id)
    assert [(i["amount"], i["currency"]) for i in intents] == [(2500, "usd")]
    assert intents[0]["metadata"]["payment_id"] == str(payment.pk)
    assert AuditEntry.objects.filter(
        group=group, action=AuditAction.CREDITS_PURCHASED, actor=admin_user
    ).exists()
    group.billing_account.refresh_from_db()
    assert group.billing_account.lifetime_purchased_micros == 25_000_000


@pytest.mark.django_db
def test_the_same_purchase_form_submitted_twice_charges_once(
    stripe_base, group, admin_user
):
    add_card(group, admin_user)
    token = "a" * 32
    first = purchase_credits(group, admin_user, to_micros("7.00"), form_token=token)
    with pytest.raises(DuplicatePurchase) as duplicate:
        purchase_credits(group, admin_user, to_micros("7.00"), form_token=token)
    assert duplicate.value.payment == first
    assert get_balance(group.pk) == 7_000_000
    customer = group.billing_account.stripe_customer_id
    assert len(payment_intents_of(stripe_base, customer)) == 1
    # A new form (a new token) is a new purchase.
    purchase_credits(group, admin_user, to_micros("7.00"), form_token="b" * 32)
    assert get_balance(group.pk) == 14_000_000


@pytest.mark.django_db(transaction=True)
def test_parallel_submissions_of_one_purchase_form_charge_once(postgres, stripe_base):
    group = GroupFactory()
    admin = MembershipFactory(group=group, role=Role.ADMIN).user
    add_card(group, admin)
    outcomes: list[str] = []

    def submit() -> None:
        try:
            purchase_credits(group, admin, to_micros("7.00"), form_token="c" * 32)
            outcomes.append("charged")
        except DuplicatePurchase:
            outcomes.append("duplicate")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["charged", "duplicate", "duplicate"]
    assert Payment.objects.filter(group=group).count() == 1
    assert get_balance(group.pk) == 7_000_000


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["4.99", "10000.01", "0", "-5"])
def test_amount_outside_the_limits_is_refused(stripe_base, group, admin_user, amount):
    add_card(group, admin_user)
    with pytest.raises(BillingError, match="between"):
        purchase_credits(group, admin_user, to_micros(amount))
    assert not Payment.objects.exists()
    assert get_balance(group.pk) == 0


@pytest.mark.django_db
def test_buying_without_a_card_is_refused(group, admin_user):
    with pytest.raises(BillingError, match="Add a card"):
        purchase_credits(group, admin_user, to_micros("10"))
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_declined_charge_says_so_and_credits_nothing(stripe_base, group, admin_user):
    add_card(group, admin_user, CHARGE_DECLINED_CARD)

    with pytest.raises(PaymentError, match="declined"):
        purchase_credits(group, admin_user, to_micros("10"))

    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.FAILED
    assert "declined" in payment.failure_message
    assert get_balance(group.pk) == 0
    assert not LedgerEntry.objects.exists()


# Webhooks -------------------------------------------------------------------


@pytest.mark.django_db
def test_bad_signature_gets_400_and_changes_nothing(stripe_base, group, admin_user):
    add_card(group, admin_user)
    payment = _pending_charge(group, stripe_base)
    event = _event_for(
        stripe_base, payment.stripe_payment_intent_id, "payment_intent.succeeded"
    )
    payload = json.dumps(event).encode()

    forged = _deliver(payload, sign(payload, secret="whsec_someone_else"))
    missing = Client().post(WEBHOOK, data=payload, content_type="application/json")
    tampered = _deliver(
        payload.replace(b'"amount": 1000', b'"amount": 9999'), sign(payload)
    )

    assert [forged.status_code, missing.status_code, tampered.status_code] == [400] * 3
    assert not StripeEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert get_balance(group.pk) == 0


@pytest.mark.django_db
def test_unknown_event_types_are_acknowledged(group):
    payload = json.dumps(
        {
            "id": "evt_unknown_1",
            "object": "event",
            "type": "customer.created",
            "data": {"object": {"id": "cus_x", "object": "customer"}},
        }
    ).encode()
    assert _deliver(payload).status_code == 200
    assert _deliver(payload).status_code == 200
    assert StripeEvent.objects.filter(event_id="evt_unknown_1").count() == 1


def _pending_charge(group, base) -> Payment:
    """Charge like purchase_credits does, but leave our side unsettled, as if the
    response were lost: only the webhook can now tell us."""
    from billing.services import default_card

    card = default_card(group.pk)
    customer = ensure_stripe_customer(group)
    payment = _new_payment(group.pk, PaymentKind.PURCHASE, to_micros("10"), card)
    intent = client().v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "customer": customer,
            "payment_method": card.stripe_payment_method_id,
            "confirm": True,
            "metadata": {"payment_id": str(payment.pk), "kind": payment.kind},
        }
    )
    Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent_id=intent.id)
    payment.refresh_from_db()
    return payment


@pytest.mark.django_db
def test_webhook_alone_credits_a_payment_whose_response_was_lost(
    stripe_base, group, admin_user
):
    add_card(group, admin_user)
    payment = _pending_charge(group, stripe_base)
    event = _event_for(
        stripe_base, payment.stripe_payment_intent_id, "payment_intent.succeeded"
    )

    assert _deliver(json.dumps(event).encode()).status_code == 200

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert _credits(payment) == 1
    assert get_balance(group.pk) == 10_000_000


@pytest.mark.django_db
def test_response_webhook_duplicates_and_reordering_credit_once(
    stripe_base, group, admin_user
):
    add_card(group, admin_user)
    payment = _pending_charge(group, stripe_base)
    intent_id = payment.stripe_payment_intent_id
    succeeded = _event_for(stripe_base, intent_id, "payment_intent.succeeded")
    # A late "failed" for the same intent, and the success re-sent as a new event.
    failed = copy.deepcopy(succeeded)
    failed["id"], failed["type"] = "evt_late_failure", "payment_intent.payment_failed"
    failed["data"]["object"]["last_payment_error"] = {"code": "card_declined"}
    resent = copy.deepcopy(succeeded)
    resent["id"] = "evt_resent_success"

    deliveries = [failed, succeeded, succeeded, resent, failed]
    statuses = [_deliver(json.dumps(e).encode()).status_code for e in deliveries]
    # The charge response arrives last of all.
    settle_from_intent(payment.pk, client().v1.payment_intents.retrieve(intent_id))

    assert statuses == [200] * 5
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert _credits(payment) == 1
    assert get_balance(group.pk) == 10_000_000
    assert StripeEvent.objects.count() == 3


@pytest.mark.django_db
def test_webhook_for_a_mismatched_amount_credits_nothing(
    stripe_base, group, admin_user
):
    add_card(group, admin_user)
    payment = _pending_charge(group, stripe_base)
    event = _event_for(
        stripe_base, payment.stripe_payment_intent_id, "payment_intent.succeeded"
    )
    event["id"] = "evt_wrong_amount"
    event["data"]["object"]["amount"] = 100_000

    assert _deliver(json.dumps(event).encode()).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert get_balance(group.pk) == 0


@pytest.mark.django_db
def test_payment_left_pending_is_settled_by_the_sweep(stripe_base, group, admin_user):
    from django.utils import timezone

    add_card(group, admin_user)
    payment = _pending_charge(group, stripe_base)
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - timezone.timedelta(hours=1)
    )

    assert settle_stale_payments() == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert _credits(payment) == 1


def _deliver_all_at_once(payloads: list[bytes]) -> list[int]:
    codes: list[int] = []
    barrier = threading.Barrier(len(payloads))

    def deliver(payload: bytes) -> None:
        try:
            barrier.wait()
            codes.append(_deliver(payload).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


@pytest.mark.django_db(transaction=True)
def test_parallel_duplicate_deliveries_credit_once(postgres, stripe_base):
    group = GroupFactory()
    admin = MembershipFactory(group=group, role="admin").user
    add_card(group, admin)
    for round_ in range(3):
        payment = _pending_charge(group, stripe_base)
        event = _event_for(
            stripe_base, payment.stripe_payment_intent_id, "payment_intent.succeeded"
        )
        payloads = []
        for n in range(12):
            copy_ = copy.deepcopy(event)
            if n % 2:
                copy_["id"] = f"{event['id']}_again_{round_}_{n}"
            payloads.append(json.dumps(copy_).encode())
        codes = _deliver_all_at_once(payloads)

        assert codes == [200] * len(payloads)
        assert _credits(payment) == 1
    assert get_balance(group.pk) == 30_000_000
    assert LedgerEntry.objects.filter(group=group).count() == 3
