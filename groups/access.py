"""The one helper that resolves the current group and the caller's membership.

Outsiders get 404 for every group URL, so that a URL never tells them a group
exists; members lacking a capability get 403.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase

from groups.models import ApiGroup, Membership
from groups.services import note_group_opened

SESSION_LAST_GROUP = "portal_last_group"


class AuthenticatedRequest(HttpRequest):
    """A request that `login_required` let through: its user is signed in."""

    user: User


class GroupRequest(AuthenticatedRequest):
    """A request that `group_view` resolved: the group and the caller's membership."""

    group: ApiGroup
    membership: Membership


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


def group_view(capability: str) -> Callable[..., Callable[..., HttpResponseBase]]:
    """Decorate a view taking `(request, group, ...)`, reached by `/g/<group_slug>/...`.

    The decorator resolves the membership, checks `capability`, and sets
    `request.group` and `request.membership` (see `GroupRequest`) for templates
    and services.
    """

    def decorator(
        view: Callable[..., HttpResponseBase],
    ) -> Callable[..., HttpResponseBase]:
        @login_required
        @wraps(view)
        def wrapper(
            request: HttpRequest, group_slug: str, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            membership = resolve_membership(request, group_slug, capability)
            # Signed in (resolve_membership checked it), and a GroupRequest from here.
            request = cast(GroupRequest, request)
            request.group = membership.group
            request.membership = membership
            if request.session.get(SESSION_LAST_GROUP) != membership.group.slug:
                request.session[SESSION_LAST_GROUP] = membership.group.slug
                note_group_opened(membership)
            return view(request, membership.group, *args, **kwargs)

        return wrapper

    return decorator


def groups_of(user: Any) -> list[ApiGroup]:
    return list(ApiGroup.objects.filter(memberships__user=user).order_by("name"))
