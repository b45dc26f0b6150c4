"""Changes to a group's billing: Stripe customer, cards, grants, top-up settings.

Charging cards and settling payments live in billing/payments.py; alerts in
billing/notices.py. Every change runs in one transaction with its audit entry.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

import stripe
from django.conf import settings
from django.db import transaction

from billing.ledger import LedgerError, ensure_account, get_balance, post_entry
from billing.models import (
    AutoTopUp,
    BillingAccount,
    LedgerKind,
    PaymentMethod,
    card_has_expired,
)
from billing.stripe_api import PaymentError, client, message_for, payment_error_from
from groups.models import ApiGroup, AuditAction
from groups.services import diff_fields, record_audit
from portal.money import MICROS_PER_UNIT, format_money

logger = logging.getLogger(__name__)


class BillingError(ValueError):
    """A request we refuse, with a message fit to show the person who made it."""


# Stripe customer -------------------------------------------------------------


class CustomerAddress(TypedDict, total=False):
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country: str


class CustomerDetails(TypedDict):
    """The keys Stripe's customer create and update params share: unpack it."""

    name: str
    description: str
    address: CustomerAddress
    metadata: dict[str, str]


def customer_details(group: ApiGroup) -> CustomerDetails:
    """The organization's details as Stripe keeps them on the customer."""
    # django-countries types the field as a CharField (str); it holds a Country.
    country = group.country.code if group.country else ""  # type: ignore[attr-defined]
    return {
        "name": group.name,
        "description": f"{settings.PORTAL_NAME} group {group.slug}",
        "address": {
            "line1": group.address_line1,
            "line2": group.address_line2,
            "city": group.city,
            "state": group.region,
            "postal_code": group.postal_code,
            "country": str(country or ""),
        },
        # Stripe's typed tax IDs need a scheme we do not ask for; the number
        # travels as metadata, which Stripe shows on the customer.
        "metadata": {"group_id": str(group.pk), "tax_id": group.tax_id},
    }


def ensure_stripe_customer(group: ApiGroup) -> str:
    """Return the group's Stripe customer id, creating the customer once."""
    account = ensure_account(group.pk)
    if account.stripe_customer_id:
        return account.stripe_customer_id
    customer = client().v1.customers.create(
        params={**customer_details(group)},
        options={"idempotency_key": account.customer_idempotency_key},
    )
    claimed = BillingAccount.objects.filter(pk=group.pk, stripe_customer_id="").update(
        stripe_customer_id=customer.id
    )
    if not claimed:
        # Another request created one first; theirs is the group's customer.
        return BillingAccount.objects.get(pk=group.pk).stripe_customer_id
    logger.info("stripe customer created group=%s customer=%s", group.pk, customer.id)
    return customer.id


def sync_stripe_customer(group_id: int) -> bool:
    """Push the organization's current details to its Stripe customer, if any."""
    account = BillingAccount.objects.select_related("group").filter(pk=group_id).first()
    if account is None or not account.stripe_customer_id:
        return False
    client().v1.customers.update(
        account.stripe_customer_id, params={**customer_details(account.group)}
    )
    logger.info(
        "stripe customer synced group=%s customer=%s",
        group_id,
        account.stripe_customer_id,
    )
    return True


# Cards -----------------------------------------------------------------------


@dataclass(frozen=True)
class CardSetup:
    setup_intent_id: str
    client_secret: str


def start_card_setup(group: ApiGroup) -> CardSetup:
    """Open a SetupIntent for the browser to collect a card into; nothing stored."""
    try:
        customer_id = ensure_stripe_customer(group)
        # No list of payment method types: the API version this SDK pins renamed
        # the parameter and localstripe knows only the old name. Without it
        # Stripe offers the methods enabled in its Dashboard, cards among them,
        # and localstripe offers cards: the page collects a card either way.
        intent = client().v1.setup_intents.create(
            params={
                "customer": customer_id,
                "usage": "off_session",
                "metadata": {"group_id": str(group.pk)},
            }
        )
    except stripe.StripeError as exc:
        logger.warning("card setup failed group=%s error=%s", group.pk, type(exc))
        raise payment_error_from(exc) from None
    if intent.client_secret is None:
        raise AssertionError("Stripe returns a new SetupIntent with its secret")
    return CardSetup(intent.id, intent.client_secret)


def save_card(
    group: ApiGroup, actor, setup_intent_id: str, *, make_default: bool = False
) -> PaymentMethod:
    """Store the card a confirmed SetupIntent collected; refuse any card unfit to use.

    The browser reports only the SetupIntent's id; everything we store is read
    back from Stripe, so a forged form cannot add a card the customer lacks.
    """
    customer_id = ensure_stripe_customer(group)
    stripe_card = _confirmed_setup_card(customer_id, setup_intent_id)
    details = stripe_card.card
    if card_has_expired(details.exp_month, details.exp_year):
        _detach_quietly(stripe_card.id)
        raise PaymentError(
            f"This card expired at the end of {details.exp_month:02d}/"
            f"{details.exp_year}. Use a card that is still valid.",
            "expired_card",
        )
    if not stripe_card.customer:
        try:
            client().v1.payment_methods.attach(
                stripe_card.id, params={"customer": customer_id}
            )
        except stripe.StripeError as exc:
            raise payment_error_from(exc) from None
    return _record_card(group, actor, stripe_card, make_default)


def _confirmed_setup_card(customer_id: str, setup_intent_id: str):
    try:
        intent = client().v1.setup_intents.retrieve(setup_intent_id)
    except stripe.InvalidRequestError:
        raise PaymentError("That card setup was not found. Start again.") from None
    except stripe.StripeError as exc:
        raise payment_error_from(exc) from None
    if intent.customer != customer_id:
        raise PaymentError("That card setup belongs to another account.")
    if intent.status == "requires_action":
        raise PaymentError(message_for("authentication_required"), "auth_required")
    method = intent.payment_method
    if intent.status != "succeeded" or not method:
        raise PaymentError(message_for("card_declined"), "card_declined")
    try:
        card = client().v1.payment_methods.retrieve(
            method if isinstance(method, str) else method.id
        )
    except stripe.StripeError as exc:
        raise payment_error_from(exc) from None
    if card.type != "card":
        raise PaymentError("Only cards can be added here.")
    return card


def _detach_quietly(stripe_payment_method_id: str) -> None:
    try:
        client().v1.payment_methods.detach(stripe_payment_method_id)
    except stripe.StripeError:
        logger.warning("card detach failed pm=%s", stripe_payment_method_id)


def _record_card(group, actor, stripe_card, make_default: bool) -> PaymentMethod:
    details = stripe_card.card
    with transaction.atomic():
        # The account row serializes every change to a group's cards.
        BillingAccount.objects.select_for_update().get(pk=group.pk)
        existing = PaymentMethod.objects.filter(
            stripe_payment_method_id=stripe_card.id
        ).first()
        if existing is not None:
            return existing
        cards = PaymentMethod.objects.filter(group=group)
        is_default = make_default or not cards.filter(is_default=True).exists()
        if is_default:
            cards.update(is_default=False)
        card = PaymentMethod.objects.create(
            group=group,
            stripe_payment_method_id=stripe_card.id,
            brand=details.brand,
            last4=details.last4,
            exp_month=details.exp_month,
            exp_year=details.exp_year,
            is_default=is_default,
            added_by=actor,
        )
        record_audit(
            group,
            actor,
            AuditAction.CARD_ADDED,
            target=card.label,
            changes={"card": card.label, "expiry": card.expiry, "default": is_default},
        )
    logger.info("card added group=%s card=%s", group.pk, card.pk)
    return card


def default_card(group_id: int) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(group_id=group_id, is_default=True).first()


def set_default_card(group: ApiGroup, actor, card_id: int) -> PaymentMethod:
    with transaction.atomic():
        BillingAccount.objects.select_for_update().get(pk=group.pk)
        card = _card_of(group, card_id)
        if card.is_default:
            return card
        old = default_card(group.pk)
        PaymentMethod.objects.filter(group=group).update(is_default=False)
        PaymentMethod.objects.filter(pk=card.pk).update(is_default=True)
        card.is_default = True
        record_audit(
            group,
            actor,
            AuditAction.DEFAULT_CARD_CHANGED,
            target=card.label,
            changes={"default": [old.label if old else "", card.label]},
        )
    return card


def remove_card(group: ApiGroup, actor, card_id: int) -> PaymentMethod | None:
    """Remove a card; return the card that became the default in its place, if any."""
    with transaction.atomic():
        BillingAccount.objects.select_for_update().get(pk=group.pk)
        card = _card_of(group, card_id)
        top_up = AutoTopUp.objects.filter(pk=group.pk, enabled=True).exists()
        if card.is_default and top_up:
            raise BillingError(
                "Automatic top-up charges this card. Make another card the "
                "default, or turn automatic top-up off, before removing it."
            )
        card.delete()
        promoted = None
        if card.is_default:
            promoted = PaymentMethod.objects.filter(group=group).first()
            if promoted is not None:
                PaymentMethod.objects.filter(pk=promoted.pk).update(is_default=True)
        record_audit(
            group,
            actor,
            AuditAction.CARD_REMOVED,
            target=card.label,
            changes={
                "card": card.label,
                "new_default": promoted.label if promoted else "",
            },
        )
        stripe_id = card.stripe_payment_method_id
        transaction.on_commit(lambda: _enqueue_detach(stripe_id))
    logger.info("card removed group=%s card=%s", group.pk, card_id)
    return promoted


def _enqueue_detach(stripe_payment_method_id: str) -> None:
    from billing.tasks import detach_payment_method

    detach_payment_method.delay(stripe_payment_method_id)


def _card_of(group: ApiGroup, card_id: int) -> PaymentMethod:
    card = PaymentMethod.objects.filter(group=group, pk=card_id).first()
    if card is None:
        raise BillingError("That card is not on this account.")
    return card


# Automatic top-up settings ---------------------------------------------------


def top_up_settings(group_id: int) -> AutoTopUp:
    return AutoTopUp.objects.filter(pk=group_id).first() or AutoTopUp(group_id=group_id)


def update_auto_top_up(
    group: ApiGroup,
    actor,
    *,
    enabled: bool,
    threshold_micros: int,
    amount_micros: int,
    monthly_cap_micros: int,
) -> AutoTopUp:
    """Save top-up settings; turning it on clears the count of failed charges."""
    if enabled and default_card(group.pk) is None:
        raise BillingError("Add a card before turning automatic top-up on.")
    if enabled and monthly_cap_micros < amount_micros:
        raise BillingError("The monthly cap must be at least one top-up amount.")
    with transaction.atomic():
        AutoTopUp.objects.get_or_create(group=group)
        current = AutoTopUp.objects.select_for_update().get(pk=group.pk)
        values = {
            "enabled": enabled,
            "threshold_micros": threshold_micros,
            "amount_micros": amount_micros,
            "monthly_cap_micros": monthly_cap_micros,
        }
        changes = diff_fields({k: getattr(current, k) for k in values}, values)
        for name, value in values.items():
            setattr(current, name, value)
        if enabled:
            current.consecutive_failures = 0
            current.last_failure_at = None
            current.disabled_reason = ""
            current.disabled_at = None
        current.save()
        if changes:
            record_audit(group, actor, AuditAction.AUTO_TOP_UP_CHANGED, changes=changes)
        if enabled and get_balance(group.pk) < threshold_micros:
            transaction.on_commit(lambda: _enqueue_top_up(group.pk))
    return current


def _enqueue_top_up(group_id: int) -> None:
    from billing.tasks import charge_auto_top_up

    charge_auto_top_up.delay(group_id)


# Operator grants -------------------------------------------------------------


def grant_credits(
    group: ApiGroup,
    amount_micros: int,
    note: str,
    *,
    actor=None,
    label="operator",
    at: datetime | None = None,
):
    """Grant credits (positive) or correct them (negative, never below zero)."""
    if amount_micros == 0:
        raise BillingError("The amount must not be zero.")
    if not note.strip():
        raise BillingError("Say why in a note.")
    kind = LedgerKind.GRANT if amount_micros > 0 else LedgerKind.ADJUSTMENT
    with transaction.atomic():
        try:
            entry, move = post_entry(
                group.pk,
                kind,
                amount_micros,
                actor=actor,
                actor_label=label,
                note=note.strip(),
                allow_negative_balance=False,
                at=at,
            )
        except LedgerError:
            raise BillingError(
                f"That correction would make the balance negative "
                f"(it is {format_money(get_balance(group.pk))})."
            ) from None
        record_audit(
            group,
            actor,
            AuditAction.CREDITS_GRANTED,
            actor_label=label,
            target=note.strip(),
            # In micros, which the activity log shows as dollars, cents when whole.
            changes={
                "amount_micros": amount_micros,
                "balance_micros": [move.before_micros, move.after_micros],
            },
        )
    return entry


def purchase_limits_micros() -> tuple[int, int]:
    return (
        settings.CREDIT_PURCHASE_MIN * MICROS_PER_UNIT,
        settings.CREDIT_PURCHASE_MAX * MICROS_PER_UNIT,
    )
