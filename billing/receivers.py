from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from billing.ledger import NO_THRESHOLD_ROW, ensure_account
from billing.models import BillingAccount, LedgerEntry
from billing.notices import DEFAULT_THRESHOLD_MICROS, rearm_alerts, threshold_of
from billing.signals import balance_changed
from groups.models import ApiGroup
from groups.signals import group_created


@receiver(group_created, sender=ApiGroup)
def open_billing_account(sender, group: ApiGroup, **kwargs) -> None:
    ensure_account(group.pk)


@receiver(post_save, sender=ApiGroup)
def sync_customer_details(sender, instance: ApiGroup, created: bool, **kwargs) -> None:
    """Keep the Stripe customer's name, address and tax ID as the group's."""
    if created:
        return  # The customer is created with current details when first needed.
    has_customer = (
        BillingAccount.objects.filter(pk=instance.pk)
        .exclude(stripe_customer_id="")
        .exists()
    )
    if has_customer:
        from billing.tasks import sync_stripe_customer

        group_id = instance.pk
        transaction.on_commit(lambda: sync_stripe_customer.delay(group_id))


@receiver(balance_changed, sender=LedgerEntry)
def watch_balance(
    sender, group_id: int, before_micros: int, after_micros: int, entry_id: int, **kw
) -> None:
    """React to crossings only: blocked at zero, low below the threshold."""
    if after_micros > before_micros:
        rearm_alerts(group_id, after_micros)
        return
    if after_micros == before_micros:
        return
    from billing import tasks

    if before_micros > 0 >= after_micros:
        transaction.on_commit(
            lambda: tasks.alert_keys_blocked.delay(group_id, entry_id)
        )
    threshold = kw.get("threshold_micros")
    if threshold is None:
        threshold = threshold_of(group_id)
    elif threshold == NO_THRESHOLD_ROW:
        threshold = DEFAULT_THRESHOLD_MICROS
    if after_micros < threshold <= before_micros:
        transaction.on_commit(lambda: tasks.alert_low_balance.delay(group_id, entry_id))
        transaction.on_commit(lambda: tasks.charge_auto_top_up.delay(group_id))
