"""Purchases whose bank asks for a check (3-D Secure): the admin runs it in the
browser, and the outcome is read back from Stripe and credited exactly once."""

import copy
import json
import logging

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.ledger import get_balance
from billing.models import LedgerEntry, Payment, PaymentStatus
from billing.payments import (
    AuthenticationRequired,
    authentication_secret,
    finish_authentication,
    purchase_credits,
    settle_stale_payments,
    start_auto_top_up,
)
from billing.services import update_auto_top_up
from billing.stripe_api import client, message_for
from portal.money import to_micros
from tests.factories import GroupFactory, MembershipFactory
from tests.stripe_fixtures import (
    add_card_needing_authentication,
    authenticate_like_a_browser,
    sign,
    stripe_events,
)

pytestmark = pytest.mark.django_db

SIX_DOLLARS = to_micros("6")


def _awaiting_purchase(group, user) -> Payment:
    add_card_needing_authentication(group, user)
    with pytest.raises(AuthenticationRequired) as raised:
        purchase_credits(group, user, SIX_DOLLARS)
    return raised.value.payment


def _run_check(base: str, payment: Payment, *, passed: bool) -> None:
    secret = authentication_secret(payment)
    assert secret is not None
    response = authenticate_like_a_browser(base, secret, passed=passed)
    response.raise_for_status()


def _intent_status(payment: Payment) -> str:
    return client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id).status


def _credits(payment: Payment) -> int:
    return LedgerEntry.objects.filter(payment=payment).count()


def _deliver(event: dict) -> int:
    payload = json.dumps(event).encode()
    response = Client().post(
        reverse("billing:stripe-webhook"),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    return response.status_code


def _succeeded_event(base: str, payment: Payment) -> dict:
    for event in stripe_events(base, "payment_intent.succeeded"):
        if event["data"]["object"]["id"] == payment.stripe_payment_intent_id:
            return event
    raise AssertionError("no payment_intent.succeeded event")


# The service -----------------------------------------------------------------


def test_purchase_needing_authentication_waits_for_the_check(
    stripe_base, group, admin_user
):
    payment = _awaiting_purchase(group, admin_user)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    assert _intent_status(payment) == "requires_action"
    assert get_balance(group.pk) == 0
    assert not LedgerEntry.objects.exists()


def test_passed_check_credits_the_purchase_once(stripe_base, group, admin_user):
    payment = _awaiting_purchase(group, admin_user)
    _run_check(stripe_base, payment, passed=True)

    first = finish_authentication(payment)
    again = finish_authentication(first)

    assert first.status == again.status == PaymentStatus.SUCCEEDED
    assert _credits(payment) == 1
    assert get_balance(group.pk) == SIX_DOLLARS


def test_failed_check_credits_nothing_and_cancels_the_intent(
    stripe_base, group, admin_user
):
    payment = _awaiting_purchase(group, admin_user)
    _run_check(stripe_base, payment, passed=False)

    payment = finish_authentication(payment)

    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == message_for(
        "payment_intent_authentication_failure"
    )
    assert _intent_status(payment) == "canceled"
    assert get_balance(group.pk) == 0
    assert not LedgerEntry.objects.exists()


def test_unfinished_check_keeps_the_purchase_waiting(stripe_base, group, admin_user):
    payment = _awaiting_purchase(group, admin_user)

    payment = finish_authentication(payment)

    assert payment.status == PaymentStatus.REQUIRES_ACTION
    assert _intent_status(payment) == "requires_action"


@pytest.mark.parametrize("webhook_first", [True, False])
def test_webhooks_and_the_return_from_the_check_credit_once_in_any_order(
    stripe_base, group, admin_user, webhook_first
):
    payment = _awaiting_purchase(group, admin_user)
    _run_check(stripe_base, payment, passed=True)
    succeeded = _succeeded_event(stripe_base, payment)
    resent = {**copy.deepcopy(succeeded), "id": "evt_resent_success"}
    late_failure = copy.deepcopy(succeeded)
    late_failure["id"] = "evt_late_failure"
    late_failure["type"] = "payment_intent.payment_failed"
    late_failure["data"]["object"]["last_payment_error"] = {"code": "card_declined"}

    if webhook_first:
        assert [_deliver(e) for e in (succeeded, succeeded)] == [200, 200]
    finish_authentication(payment)
    statuses = [_deliver(e) for e in (succeeded, resent, late_failure)]

    assert statuses == [200, 200, 200]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert _credits(payment) == 1
    assert get_balance(group.pk) == SIX_DOLLARS


def test_abandoned_check_is_cancelled_by_the_sweep(stripe_base, group, admin_user):
    payment = _awaiting_purchase(group, admin_user)
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - timezone.timedelta(hours=1)
    )

    assert settle_stale_payments() == 1

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == message_for("authentication_required")
    assert _intent_status(payment) == "canceled"
    assert get_balance(group.pk) == 0


def test_auto_top_up_needing_authentication_fails_without_offering_a_check(
    stripe_base, group, admin_user
):
    add_card_needing_authentication(group, admin_user)
    update_auto_top_up(
        group,
        admin_user,
        enabled=True,
        threshold_micros=to_micros("5"),
        amount_micros=to_micros("20"),
        monthly_cap_micros=to_micros("100"),
    )

    payment = start_auto_top_up(group.pk)

    assert payment is not None
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert "automatic top-up cannot" in payment.failure_message
    assert "complete the check" not in payment.failure_message
    assert _intent_status(payment) == "canceled"
    assert get_balance(group.pk) == 0


def test_off_session_wording_never_asks_for_a_check():
    on_session = message_for("authentication_required")
    off_session = message_for("authentication_required", off_session=True)

    assert "complete the check" in on_session
    assert "complete the check" not in off_session
    assert message_for("card_declined", off_session=True) == message_for(
        "card_declined"
    )


# The pages -------------------------------------------------------------------


def _url(group, name, payment) -> str:
    return reverse(f"billing:{name}", args=[group.slug, payment.pk])


def test_buying_sends_the_admin_to_the_check_with_the_secret_in_the_page_only(
    stripe_base, admin_client, group, admin_user, caplog
):
    add_card_needing_authentication(group, admin_user)
    # Our own log lines at their most verbose; Stripe's SDK logs whole response
    # bodies only if an operator turns its logger up to DEBUG.
    caplog.set_level(logging.DEBUG, logger="billing")

    bought = admin_client.post(
        reverse("billing:buy-credits", args=[group.slug]), {"amount": "6"}
    )
    payment = Payment.objects.get()
    page = admin_client.get(bought.url)

    assert bought.status_code == 302
    assert bought.url == _url(group, "payment-authenticate", payment)
    assert page.status_code == 200
    secret = page.context["client_secret"]
    assert secret.startswith(f"{payment.stripe_payment_intent_id}_secret_")
    assert f'data-client-secret="{secret}"' in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    assert secret not in caplog.text


def test_passed_check_says_credits_were_added(
    stripe_base, admin_client, group, admin_user
):
    payment = _awaiting_purchase(group, admin_user)
    _run_check(stripe_base, payment, passed=True)

    response = admin_client.post(_url(group, "payment-finish", payment), follow=True)

    body = response.content.decode()
    assert "$6.00 of credits added, charged to Visa •••• 3155." in body
    assert 'data-testid="balance">$6.00<' in body


def test_failed_check_says_nothing_was_charged(
    stripe_base, admin_client, group, admin_user
):
    payment = _awaiting_purchase(group, admin_user)
    _run_check(stripe_base, payment, passed=False)

    response = admin_client.post(_url(group, "payment-finish", payment), follow=True)

    body = response.content.decode()
    assert "authentication check failed" in body and "Nothing was charged." in body
    assert 'data-testid="balance">$0.00<' in body


def test_unfinished_check_sends_the_admin_back_to_it(
    stripe_base, admin_client, group, admin_user
):
    payment = _awaiting_purchase(group, admin_user)

    response = admin_client.post(_url(group, "payment-finish", payment))

    assert response.status_code == 302
    assert response.url == _url(group, "payment-authenticate", payment)


def test_settled_purchase_has_no_check_page(
    stripe_base, admin_client, group, admin_user
):
    payment = _awaiting_purchase(group, admin_user)
    _run_check(stripe_base, payment, passed=True)
    finish_authentication(payment)

    response = admin_client.get(_url(group, "payment-authenticate", payment))

    assert response.status_code == 302
    assert response.url == reverse("billing:overview", args=[group.slug])


def test_check_done_elsewhere_offers_to_continue_without_the_secret(
    stripe_base, admin_client, group, admin_user
):
    payment = _awaiting_purchase(group, admin_user)
    _run_check(stripe_base, payment, passed=True)

    page = admin_client.get(_url(group, "payment-authenticate", payment))

    assert page.status_code == 200
    assert page.context["client_secret"] is None
    assert "data-client-secret" not in page.content.decode()
    assert "Continue" in page.content.decode()


def test_billing_page_links_to_a_waiting_check(
    stripe_base, admin_client, group, admin_user
):
    payment = _awaiting_purchase(group, admin_user)

    body = admin_client.get(reverse("billing:overview", args=[group.slug]))

    assert _url(group, "payment-authenticate", payment) in body.content.decode()


def test_member_gets_403_and_outsider_404(
    stripe_base, group, admin_user, member_client, outsider_client
):
    payment = _awaiting_purchase(group, admin_user)

    for client_, status in ((member_client, 403), (outsider_client, 404)):
        page = client_.get(_url(group, "payment-authenticate", payment))
        finish = client_.post(_url(group, "payment-finish", payment))
        assert (page.status_code, finish.status_code) == (status, status)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_ACTION


def test_admin_of_another_group_cannot_reach_the_payment_through_theirs(
    stripe_base, group, admin_user
):
    payment = _awaiting_purchase(group, admin_user)
    other = GroupFactory()
    other_admin = MembershipFactory(group=other, role="admin").user
    intruder = Client()
    intruder.force_login(other_admin)

    page = intruder.get(_url(other, "payment-authenticate", payment))
    finish = intruder.post(_url(other, "payment-finish", payment))

    assert (page.status_code, finish.status_code) == (404, 404)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_ACTION
