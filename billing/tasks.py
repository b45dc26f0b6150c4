"""Billing's Celery tasks. Each takes ids, is sent after commit, and is safe to
run twice: the work it guards is claimed in the database before it is done."""

import logging

import stripe
from celery import shared_task

from billing import notices, payments, services
from billing.stripe_api import client

logger = logging.getLogger(__name__)


@shared_task
def sync_stripe_customer(group_id: int) -> None:
    try:
        services.sync_stripe_customer(group_id)
    except stripe.StripeError:
        # The next change of details, or the next card added, syncs it again.
        logger.warning("stripe customer sync failed group=%s", group_id)


@shared_task
def detach_payment_method(stripe_payment_method_id: str) -> None:
    try:
        client().v1.payment_methods.detach(stripe_payment_method_id)
    except stripe.InvalidRequestError:
        pass  # Already detached or gone: the goal is reached.
    except stripe.StripeError:
        logger.warning("card detach failed pm=%s", stripe_payment_method_id)


@shared_task
def alert_keys_blocked(group_id: int, entry_id: int) -> None:
    notices.alert_keys_blocked(group_id, entry_id)


@shared_task
def alert_low_balance(group_id: int, entry_id: int) -> None:
    notices.alert_low_balance(group_id, entry_id)


@shared_task
def charge_auto_top_up(group_id: int) -> None:
    payments.start_auto_top_up(group_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notice(notice_id: int) -> None:
    notices.send_notice(notice_id)


@shared_task
def sweep_auto_top_ups() -> None:
    """Settle payments left pending, then top up any group left below threshold."""
    payments.settle_stale_payments()
    for group_id in payments.groups_due_for_top_up():
        charge_auto_top_up.delay(group_id)
