"""Stripe webhook events: verified, deduplicated by id, handled idempotently."""

import logging

from django.db import IntegrityError, transaction

from billing.models import Payment, PaymentKind, StripeEvent
from billing.payments import settle_failure, settle_success
from billing.stripe_api import message_for
from portal.money import micros_to_cents

logger = logging.getLogger(__name__)


def handle_event(event) -> bool:
    """Apply one verified event; False when it was seen before (a redelivery).

    The event's id is recorded in the same transaction as its effects, so a
    failure leaves no trace and Stripe's retry handles it afresh.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                StripeEvent.objects.create(event_id=event.id, type=event.type)
        except IntegrityError:
            return False
        handler = HANDLERS.get(event.type)
        if handler is not None:
            handler(event.data.object.to_dict())
    logger.info("stripe event handled event=%s type=%s", event.id, event.type)
    return True


def _our_payment(intent: dict) -> Payment | None:
    """The Payment an intent charges, if the intent is ours and matches it."""
    metadata = intent.get("metadata") or {}
    payment_id = metadata.get("payment_id", "")
    if not payment_id.isdigit():
        return None
    payment = Payment.objects.filter(pk=int(payment_id)).first()
    if payment is None:
        return None
    known = payment.stripe_payment_intent_id
    if (
        (known and known != intent["id"])
        or intent.get("amount") != micros_to_cents(payment.amount_micros)
        or intent.get("currency") != payment.currency
    ):
        logger.warning(
            "intent does not match payment=%s intent=%s", payment.pk, intent["id"]
        )
        return None
    return payment


def _intent_succeeded(intent: dict) -> None:
    payment = _our_payment(intent)
    if payment is not None:
        Payment.objects.filter(pk=payment.pk, stripe_payment_intent_id="").update(
            stripe_payment_intent_id=intent["id"]
        )
        settle_success(payment.pk, intent["id"])


def _intent_failed(intent: dict) -> None:
    payment = _our_payment(intent)
    if payment is not None:
        error = intent.get("last_payment_error") or {}
        off_session = payment.kind == PaymentKind.AUTO_TOP_UP
        message = message_for(error.get("code"), off_session=off_session)
        settle_failure(payment.pk, message)


HANDLERS = {
    "payment_intent.succeeded": _intent_succeeded,
    "payment_intent.payment_failed": _intent_failed,
}
