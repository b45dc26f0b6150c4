from typing import Any

from django.conf import settings
from django.http import HttpRequest

from groups.access import groups_of


def portal(request: HttpRequest) -> dict[str, Any]:
    """The current group and membership (set by `group_view`) and the switcher list."""
    user = getattr(request, "user", None)
    return {
        "portal_name": settings.PORTAL_NAME,
        "group": getattr(request, "group", None),
        "membership": getattr(request, "membership", None),
        "user_groups": (lambda: groups_of(user))
        if user and user.is_authenticated
        else [],
    }
