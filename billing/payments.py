"""Charging cards for credits, and crediting each successful charge exactly once.

A Payment row is committed before Stripe is called, and its id with the random
token stored on it is the charge's idempotency key. Confirmation may come from the
charge response, the webhook, the admin's return from the bank's check, any of
them twice or out of order: whichever arrives first claims the payment with a
conditional UPDATE that must touch one row, and the ledger's unique constraint on
the payment is the second lock on the same door.

A purchase whose bank asks for authentication (3-D Secure) waits, marked
REQUIRES_ACTION, while the admin's browser runs the check with stripe.js; the
result is then read back from Stripe, never taken from the browser. An automatic
top-up has nobody to run the check, so such a charge is cancelled and fails.
"""

import logging
from datetime import timedelta

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from billing.ledger import get_balance, post_entry
from billing.models import (
    AutoTopUp,
    BillingAccount,
    LedgerKind,
    NoticeKind,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from billing.notices import create_notice
from billing.services import (
    BillingError,
    default_card,
    ensure_stripe_customer,
    purchase_limits_micros,
)
from billing.stripe_api import (
    UNAVAILABLE_MESSAGE,
    PaymentError,
    client,
    message_for,
    payment_error_from,
)
from groups.models import ApiGroup, AuditAction
from groups.services import record_audit
from portal.money import format_money, micros_to_cents

logger = logging.getLogger(__name__)

# Automatic top-up turns itself off after this many failed charges in a row.
MAX_TOP_UP_FAILURES = 3
# A payment still pending after this long is settled by asking Stripe.
STALE_PAYMENT_AGE = timedelta(minutes=15)
# The sweep leaves a group alone this long after a failed top-up.
TOP_UP_RETRY_AFTER = timedelta(hours=1)

_KIND_TO_LEDGER: dict[str, LedgerKind] = {
    PaymentKind.PURCHASE: LedgerKind.PURCHASE,
    PaymentKind.AUTO_TOP_UP: LedgerKind.AUTO_TOP_UP,
}


class PaymentPending(PaymentError):
    """Stripe did not confirm the charge yet; the webhook or the sweep will."""


class AuthenticationRequired(PaymentPending):
    """The bank asks the admin to authenticate the purchase in the browser."""

    def __init__(self, payment: Payment) -> None:
        super().__init__(
            "Your bank asks you to confirm this payment.", "authentication_required"
        )
        self.payment = payment


# Buying credits -------------------------------------------------------------


class DuplicatePurchase(BillingError):
    """The same purchase form was submitted again; it was charged at most once."""

    def __init__(self, payment: Payment) -> None:
        super().__init__("This purchase was already submitted; it is charged once.")
        self.payment = payment


def purchase_credits(
    group: ApiGroup, actor, amount_micros: int, *, form_token: str = ""
) -> Payment:
    """Charge the default card and add the credits; raise PaymentError if refused.

    A `form_token` seen before for the group raises DuplicatePurchase instead of
    charging again; a charge the bank wants authenticated raises
    AuthenticationRequired, and `finish_authentication` settles it afterwards.
    """
    low, high = purchase_limits_micros()
    if not low <= amount_micros <= high:
        raise BillingError(
            f"Buy between {format_money(low)} and {format_money(high)} at a time."
        )
    if amount_micros % 10_000:
        raise BillingError("Enter an amount in whole cents.")
    card = default_card(group.pk)
    if card is None:
        raise BillingError("Add a card first.")
    try:
        customer_id = ensure_stripe_customer(group)
    except stripe.StripeError as exc:
        raise payment_error_from(exc) from None
    payment = _claim_purchase(group.pk, amount_micros, card, actor, form_token)
    charge_payment(payment, customer_id, card, off_session=False)
    payment.refresh_from_db()
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        raise AuthenticationRequired(payment)
    if payment.status == PaymentStatus.FAILED:
        raise PaymentError(payment.failure_message)
    if payment.status == PaymentStatus.PENDING:
        raise PaymentPending(
            "Your payment is being confirmed; the credits appear as soon as it is."
        )
    return payment


def _claim_purchase(group_id, amount_micros, card, actor, form_token: str) -> Payment:
    """Create the purchase's payment, or raise DuplicatePurchase for a resubmission."""
    try:
        with transaction.atomic():
            return _new_payment(
                group_id,
                PaymentKind.PURCHASE,
                amount_micros,
                card,
                actor,
                form_token=form_token,
            )
    except IntegrityError:
        earlier = Payment.objects.filter(group_id=group_id, form_token=form_token)
        if form_token and earlier.exists():
            logger.info("duplicate purchase form group=%s", group_id)
            raise DuplicatePurchase(earlier.get()) from None
        raise


def _new_payment(
    group_id, kind, amount_micros, card: PaymentMethod, actor=None, form_token=""
):
    return Payment.objects.create(
        group_id=group_id,
        kind=kind,
        amount_micros=amount_micros,
        currency=settings.PORTAL_CURRENCY,
        card_brand=card.brand,
        card_last4=card.last4,
        form_token=form_token,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )


def charge_payment(
    payment: Payment, customer_id: str, card: PaymentMethod, *, off_session: bool
) -> None:
    """Ask Stripe to charge `payment` once, then settle it from the answer."""
    try:
        intent = client().v1.payment_intents.create(
            params={
                "amount": micros_to_cents(payment.amount_micros),
                "currency": payment.currency,
                "customer": customer_id,
                "payment_method": card.stripe_payment_method_id,
                "confirm": True,
                "off_session": off_session,
                "metadata": {
                    "payment_id": str(payment.pk),
                    "group_id": str(payment.group_id),
                    "kind": payment.kind,
                },
            },
            options={"idempotency_key": payment.idempotency_key},
        )
    except stripe.APIConnectionError:
        # Maybe charged, maybe not: leave it pending for the webhook or the sweep.
        logger.warning("charge unconfirmed payment=%s", payment.pk)
        return
    except stripe.StripeError as exc:
        error = payment_error_from(exc, off_session=off_session)
        settle_failure(payment.pk, error.message)
        return
    Payment.objects.filter(pk=payment.pk, stripe_payment_intent_id="").update(
        stripe_payment_intent_id=intent.id
    )
    settle_from_intent(payment.pk, intent, can_authenticate=not off_session)


def settle_from_intent(payment_id: int, intent, *, can_authenticate=False) -> None:
    """Settle a payment from a PaymentIntent in whatever state Stripe reports.

    An intent awaiting the bank's check waits for the admin's browser when one is
    at hand (`can_authenticate`); otherwise no check will ever run, so it is
    cancelled and fails.
    """
    if intent.status == "succeeded":
        settle_success(payment_id, intent.id)
    elif intent.status == "requires_action" and can_authenticate:
        _await_authentication(payment_id)
    elif intent.status == "requires_action":
        _cancel_quietly(payment_id, intent.id)
        settle_failure(payment_id, _message_for(payment_id, "authentication_required"))
    elif intent.status in ("requires_payment_method", "canceled"):
        error = intent.last_payment_error
        code = error.code if error else None
        settle_failure(payment_id, _message_for(payment_id, code))


def _message_for(payment_id: int, code: str | None) -> str:
    kind = Payment.objects.filter(pk=payment_id).values_list("kind", flat=True).get()
    return message_for(code, off_session=kind == PaymentKind.AUTO_TOP_UP)


def _cancel_quietly(payment_id: int, intent_id: str) -> None:
    """Cancel an intent that must never charge; a failure only leaves it idle."""
    try:
        client().v1.payment_intents.cancel(intent_id)
    except stripe.StripeError:
        logger.warning("cancel failed payment=%s intent=%s", payment_id, intent_id)


def _await_authentication(payment_id: int) -> None:
    waiting = Payment.objects.filter(
        pk=payment_id, status=PaymentStatus.PENDING
    ).update(status=PaymentStatus.REQUIRES_ACTION, updated_at=timezone.now())
    if waiting:
        logger.info("payment awaits authentication payment=%s", payment_id)


def settle_success(payment_id: int, intent_id: str) -> bool:
    """Credit a charged payment; True only for the one call that credited it."""
    with transaction.atomic():
        claimed = (
            Payment.objects.filter(pk=payment_id)
            .exclude(status=PaymentStatus.SUCCEEDED)
            .update(
                status=PaymentStatus.SUCCEEDED,
                failure_message="",
                settled_at=timezone.now(),
                updated_at=timezone.now(),
            )
        )
        if claimed != 1:
            return False
        payment = Payment.objects.select_related("created_by").get(pk=payment_id)
        _credit(payment)
    logger.info(
        "payment succeeded payment=%s group=%s kind=%s amount_micros=%s intent=%s",
        payment.pk,
        payment.group_id,
        payment.kind,
        payment.amount_micros,
        intent_id,
    )
    return True


def _credit(payment: Payment) -> None:
    is_top_up = payment.kind == PaymentKind.AUTO_TOP_UP
    label = "auto top-up" if is_top_up else ""
    post_entry(
        payment.group_id,
        _KIND_TO_LEDGER[payment.kind],
        payment.amount_micros,
        actor=payment.created_by,
        actor_label=label,
        note=f"Charged to {payment.card_label}",
        payment=payment,
    )
    record_audit(
        ApiGroup(pk=payment.group_id),
        payment.created_by,
        AuditAction.CREDITS_PURCHASED,
        actor_label=label,
        target=format_money(payment.amount_micros),
        changes={
            "payment": payment.pk,
            "kind": payment.kind,
            "amount": format_money(payment.amount_micros),
            "card": payment.card_label,
        },
    )
    if is_top_up:
        AutoTopUp.objects.filter(pk=payment.group_id).update(consecutive_failures=0)


def settle_failure(payment_id: int, message: str) -> bool:
    """Mark a pending payment failed; True only for the one call that did."""
    with transaction.atomic():
        claimed = Payment.objects.filter(
            pk=payment_id,
            status__in=[PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION],
        ).update(
            status=PaymentStatus.FAILED,
            failure_message=message[:500],
            settled_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if claimed != 1:
            return False
        payment = Payment.objects.get(pk=payment_id)
        if payment.kind == PaymentKind.AUTO_TOP_UP:
            _count_top_up_failure(payment)
    logger.warning(
        "payment failed payment=%s group=%s kind=%s",
        payment.pk,
        payment.group_id,
        payment.kind,
    )
    return True


def _count_top_up_failure(payment: Payment) -> None:
    top_up = AutoTopUp.objects.select_for_update().get(pk=payment.group_id)
    top_up.consecutive_failures += 1
    top_up.last_failure_at = timezone.now()
    create_notice(payment.group_id, NoticeKind.TOP_UP_FAILED, payment=payment)
    if top_up.consecutive_failures >= MAX_TOP_UP_FAILURES and top_up.enabled:
        top_up.enabled = False
        top_up.disabled_at = timezone.now()
        top_up.disabled_reason = (
            f"Turned off after {top_up.consecutive_failures} failed charges in a "
            f"row. The last one: {payment.failure_message}"
        )[:300]
        record_audit(
            ApiGroup(pk=payment.group_id),
            None,
            AuditAction.AUTO_TOP_UP_DISABLED,
            actor_label="system",
            changes={"enabled": ["True", "False"], "reason": top_up.disabled_reason},
        )
        create_notice(payment.group_id, NoticeKind.TOP_UP_DISABLED, payment=payment)
        logger.warning("auto top-up disabled group=%s", payment.group_id)
    top_up.save()


# The bank's check on a purchase ------------------------------------------------


def authentication_secret(payment: Payment) -> str | None:
    """The client secret the admin's browser needs to run the bank's check.

    None when the intent no longer waits for the check (it was run in another
    tab, say): then `finish_authentication` settles it as it stands. The secret
    goes into the page that runs stripe.js, never into a URL or a log line.
    """
    try:
        intent = client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    except stripe.StripeError as exc:
        raise payment_error_from(exc) from None
    if intent.status != "requires_action":
        return None
    return intent.client_secret


def finish_authentication(payment: Payment) -> Payment:
    """Settle a purchase from its intent after the browser ran the bank's check.

    The browser's word is never taken: the intent is read back from Stripe. If
    the check is still to be done the payment keeps waiting; if it failed, the
    intent is cancelled so that it can never charge later.
    """
    if payment.status != PaymentStatus.REQUIRES_ACTION:
        return payment
    try:
        intent = client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    except stripe.StripeError:
        logger.warning("authentication unconfirmed payment=%s", payment.pk)
        raise PaymentPending(
            "Your payment is being confirmed; the credits appear as soon as it is."
        ) from None

    if intent.status == "requires_payment_method":
        _cancel_quietly(payment.pk, intent.id)
    settle_from_intent(payment.pk, intent, can_authenticate=True)
    payment.refresh_from_db()
    return payment


# Automatic top-up -------------------------------------------------------------


def top_ups_this_month_micros(group_id: int) -> int:
    start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    total = Payment.objects.filter(
        group_id=group_id,
        kind=PaymentKind.AUTO_TOP_UP,
        status__in=[PaymentStatus.PENDING, PaymentStatus.SUCCEEDED],
        created_at__gte=start,
    ).aggregate(total=Sum("amount_micros"))
    return total["total"] or 0


def start_auto_top_up(group_id: int) -> Payment | None:
    """Charge the default card once if the group is below its threshold.

    The decision is taken holding the group's top-up row, so callers racing here
    see each other's payment (or its credits) and stand down; the partial unique
    constraint on pending top-ups holds even if this code is ever bypassed.
    """
    try:
        claim = _claim_top_up(group_id)
    except IntegrityError:
        return None
    if claim is None:
        return None
    payment, card, customer_id = claim
    if card is None or not customer_id:
        settle_failure(payment.pk, "There is no default card to charge.")
        return payment
    logger.info("auto top-up started group=%s payment=%s", group_id, payment.pk)
    charge_payment(payment, customer_id, card, off_session=True)
    return payment


def _claim_top_up(group_id: int):
    with transaction.atomic():
        top_up = (
            AutoTopUp.objects.select_for_update()
            .filter(pk=group_id, enabled=True)
            .first()
        )
        if top_up is None or _failed_recently(top_up):
            return None
        if get_balance(group_id) >= top_up.threshold_micros:
            return None
        if Payment.objects.filter(
            group_id=group_id,
            kind=PaymentKind.AUTO_TOP_UP,
            status=PaymentStatus.PENDING,
        ).exists():
            return None
        used = top_ups_this_month_micros(group_id)
        if used + top_up.amount_micros > top_up.monthly_cap_micros:
            logger.info("auto top-up capped group=%s used_micros=%s", group_id, used)
            return None
        card = default_card(group_id)
        payment = Payment.objects.create(
            group_id=group_id,
            kind=PaymentKind.AUTO_TOP_UP,
            amount_micros=top_up.amount_micros,
            currency=settings.PORTAL_CURRENCY,
            card_brand=card.brand if card else "",
            card_last4=card.last4 if card else "",
        )
    customer_id = BillingAccount.objects.get(pk=group_id).stripe_customer_id
    return payment, card, customer_id


def _failed_recently(top_up: AutoTopUp) -> bool:
    """A failed charge is retried by a later sweep, never by the next crossing."""
    if top_up.last_failure_at is None:
        return False
    return top_up.last_failure_at > timezone.now() - TOP_UP_RETRY_AFTER


def settle_stale_payments() -> int:
    """Settle payments left pending (a lost response and a lost webhook).

    A purchase still awaiting its bank's check by now was abandoned: it is
    cancelled and fails.
    """
    settled = 0
    cutoff = timezone.now() - STALE_PAYMENT_AGE
    stale = Payment.objects.filter(
        status__in=[PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION],
        created_at__lt=cutoff,
    )
    for payment in stale:
        if not payment.stripe_payment_intent_id:
            # If it was charged after all, its webhook still credits it later.
            settled += settle_failure(payment.pk, UNAVAILABLE_MESSAGE)
            continue
        try:
            intent = client().v1.payment_intents.retrieve(
                payment.stripe_payment_intent_id
            )
        except stripe.StripeError:
            logger.warning("stale payment unresolved payment=%s", payment.pk)
            continue
        settle_from_intent(payment.pk, intent)
        settled += 1
    return settled


def groups_due_for_top_up() -> list[int]:
    """Groups with top-up on, below their threshold, and not recently failed."""
    due = []
    candidates = AutoTopUp.objects.filter(enabled=True).select_related(
        "group__billing_account"
    )
    for top_up in candidates:
        account = getattr(top_up.group, "billing_account", None)
        if account is None or account.balance_micros >= top_up.threshold_micros:
            continue
        if _failed_recently(top_up):
            continue
        due.append(top_up.pk)
    return due
