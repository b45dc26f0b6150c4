from django.dispatch import receiver

from billing.ledger import ensure_account
from groups.models import ApiGroup
from groups.signals import group_created


@receiver(group_created, sender=ApiGroup)
def open_billing_account(sender, group: ApiGroup, **kwargs) -> None:
    ensure_account(group.pk)
