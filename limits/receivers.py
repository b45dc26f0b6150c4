from django.dispatch import receiver

from billing.models import PURCHASED_KINDS
from billing.signals import balance_changed
from limits.services import raise_tier


@receiver(balance_changed)
def raise_tier_on_purchase(sender, group_id: int, kind: str, **kwargs) -> None:
    """Credits bought may reach a higher tier; usage and grants never change it."""
    if kind in PURCHASED_KINDS:
        raise_tier(group_id)
