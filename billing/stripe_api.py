"""Our one door to Stripe: a configured client and people-readable card errors.

Everything else in billing calls Stripe through `client()`, so that tests and local
development reach localstripe by STRIPE_API_BASE alone.
"""

from functools import lru_cache

import stripe
from django.conf import settings

# Stripe's decline codes, told the way a person paying needs to hear them.
CARD_MESSAGES = {
    "card_declined": "Your card was declined. Try another card or ask your bank why.",
    "expired_card": "This card has expired. Use a card that is still valid.",
    "incorrect_cvc": "The security code (CVC) is wrong. Check it and try again.",
    "insufficient_funds": "The card has insufficient funds. Try another card.",
    "invalid_expiry_year": "The expiry year is not valid. Check the card's date.",
    "invalid_expiry_month": "The expiry month is not valid. Check the card's date.",
    "authentication_required": (
        "Your bank asks you to authenticate this card, and that was not completed. "
        "Try again and complete the check, or use another card."
    ),
    "payment_intent_authentication_failure": (
        "Your bank's authentication check failed. Try again or use another card."
    ),
}
# What a charge made without the admin present (automatic top-up) says instead:
# no check can run there, so never ask for one.
OFF_SESSION_MESSAGES = {
    "authentication_required": (
        "Your bank asks to authenticate this card on each charge, which an "
        "automatic top-up cannot do. Buy credits on the billing page instead, or "
        "make a card that needs no check the default."
    ),
}
GENERIC_CARD_MESSAGE = "The card could not be used. Try another card."
UNAVAILABLE_MESSAGE = (
    "We could not reach our payment provider. Nothing was charged; try again shortly."
)


class PaymentError(Exception):
    """A card or payment problem with a message fit to show the person paying."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key, base_addresses={"api": api_base}, max_network_retries=2
    )


def client() -> stripe.StripeClient:
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


def message_for(code: str | None, *, off_session: bool = False) -> str:
    if off_session and code in OFF_SESSION_MESSAGES:
        return OFF_SESSION_MESSAGES[code]
    return CARD_MESSAGES.get(code or "", GENERIC_CARD_MESSAGE)


def payment_error_from(
    exc: stripe.StripeError, *, off_session: bool = False
) -> PaymentError:
    """Translate an SDK error into a PaymentError; never leak Stripe internals."""
    if isinstance(exc, stripe.APIConnectionError):
        return PaymentError(UNAVAILABLE_MESSAGE, "unavailable")
    code = getattr(exc, "code", None) or ""
    return PaymentError(message_for(code, off_session=off_session), code)
