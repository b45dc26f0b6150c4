from django.dispatch import receiver
from django.http import QueryDict

from groups.models import ApiGroup, Capability
from groups.signals import overview_panels
from usage.queries import total_of, usage_by_model
from usage.ranges import parse_usage_query


@receiver(overview_panels, sender=ApiGroup)
def usage_overview_panel(sender, group: ApiGroup, membership, **kwargs):
    """Calls and spend over the last 30 days, linking to the usage page."""
    if not membership.can(Capability.VIEW_USAGE):
        return None
    query = parse_usage_query(QueryDict("range=30d"))
    total = total_of(usage_by_model(group.pk, query))
    return {
        "template": "usage/_overview_panel.html",
        "context": {"group": group, "total": total, "query": query},
        "order": 20,
    }
