"""The one helper that resolves the current group and the caller's membership.

Outsiders get 404 for every group URL, so that a URL never tells them a group
exists; members lacking a capability get 403.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from groups.models import ApiGroup, Membership
from groups.services import note_group_opened

SESSION_LAST_GROUP = "portal_last_group"


def resolve_membership(
    request: HttpRequest, group_slug: str, capability: str
) -> Membership:
    """Return the caller's membership of the group, or raise 404/403."""
    if not request.user.is_authenticated:
        raise Http404
    membership = (
        Membership.objects.select_related("group", "user")
        .filter(group__slug=group_slug, user=request.user)
        .first()
    )
    if membership is None:
        raise Http404("No such group")
    if not membership.can(capability):
        raise PermissionDenied("Your role in this group does not allow this.")
    return membership


def group_view(capability: str) -> Callable[..., Callable[..., HttpResponse]]:
    """Decorate a view taking `(request, group, ...)`, reached by `/g/<group_slug>/...`.

    The decorator resolves the membership, checks `capability`, and sets
    `request.group` and `request.membership` for templates and services.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, group_slug: str, *args: Any, **kwargs: Any):
            membership = resolve_membership(request, group_slug, capability)
            request.group = membership.group  # type: ignore[attr-defined]
            request.membership = membership  # type: ignore[attr-defined]
            if request.session.get(SESSION_LAST_GROUP) != membership.group.slug:
                request.session[SESSION_LAST_GROUP] = membership.group.slug
                note_group_opened(membership)
            return view(request, membership.group, *args, **kwargs)

        return wrapper

    return decorator


def groups_of(user: Any) -> list[ApiGroup]:
    return list(ApiGroup.objects.filter(memberships__user=user).order_by("name"))
