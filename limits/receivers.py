from django.dispatch import receiver

from billing.models import PURCHASED_KINDS
from billing.signals import balance_changed
from groups.models import ApiGroup, Capability
from groups.signals import overview_panels
from limits.services import limits_summary, raise_tier


@receiver(balance_changed)
def raise_tier_on_purchase(sender, group_id: int, kind: str, **kwargs) -> None:
    """Credits bought may reach a higher tier; usage and grants never change it."""
    if kind in PURCHASED_KINDS:
        raise_tier(group_id)


@receiver(overview_panels, sender=ApiGroup)
def limits_overview_panel(sender, group: ApiGroup, membership, **kwargs):
    if not membership.can(Capability.VIEW_LIMITS):
        return None
    return {
        "template": "limits/_overview_panel.html",
        "context": {"group": group, "summary": limits_summary(group.pk)},
        "order": 40,
    }
