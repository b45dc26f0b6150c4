from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from groups.access import (
    SESSION_LAST_GROUP,
    AuthenticatedRequest,
    GroupRequest,
    group_view,
)
from groups.forms import ActivityFilterForm, GroupCreateForm, GroupSettingsForm
from groups.models import ApiGroup, AuditEntry, Capability, Membership
from groups.services import create_group, update_group_details
from groups.signals import overview_panels

ACTIVITY_PAGE_SIZE = 50


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    """Send the user to the group they opened last, or to create their first."""
    memberships = Membership.objects.filter(user=request.user).select_related("group")
    last_slug = request.session.get(SESSION_LAST_GROUP)
    chosen = next((m for m in memberships if m.group.slug == last_slug), None)
    if chosen is None:
        chosen = max(
            memberships,
            key=lambda m: (
                m.last_opened_at is not None,
                m.last_opened_at or m.created_at,
            ),
            default=None,
        )
    if chosen is None:
        return redirect("groups:create")
    return redirect("groups:overview", group_slug=chosen.group.slug)


@login_required
@require_http_methods(["GET", "POST"])
def group_create(request: AuthenticatedRequest) -> HttpResponse:
    form = GroupCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        group = create_group(request.user, **form.cleaned_data)
        return redirect("groups:settings", group_slug=group.slug)
    return render(request, "groups/create.html", {"form": form})


@group_view(Capability.VIEW_USAGE)
def group_overview(request: GroupRequest, group: ApiGroup) -> HttpResponse:
    replies = overview_panels.send(
        sender=ApiGroup, group=group, membership=request.membership
    )
    panels = sorted(
        (panel for _, panel in replies if panel),
        # django-stubs types a receiver's reply as str; these replies are dicts.
        key=lambda panel: panel["order"],  # type: ignore[index]
    )
    return render(request, "groups/overview.html", {"group": group, "panels": panels})


@group_view(Capability.VIEW_SETTINGS)
@require_http_methods(["GET", "POST"])
def group_settings(request: GroupRequest, group: ApiGroup) -> HttpResponse:
    """Members read the organization details; admins edit them."""
    can_edit = request.membership.can(Capability.EDIT_SETTINGS)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied("Only admins can change the group's settings.")
    form = GroupSettingsForm(request.POST or None, instance=ApiGroup(pk=group.pk))
    if request.method == "POST" and form.is_valid():
        changes = update_group_details(group, request.user, form.cleaned_data)
        if changes:
            messages.success(request, "Settings saved.")
        else:
            messages.info(request, "Nothing changed.")
        return redirect("groups:settings", group_slug=group.slug)
    if request.method == "GET":
        form = GroupSettingsForm(instance=group)
    return render(
        request,
        "groups/settings.html",
        {"group": group, "form": form, "can_edit": can_edit},
    )


@group_view(Capability.VIEW_ACTIVITY)
@require_GET
def group_activity(request: HttpRequest, group: ApiGroup) -> HttpResponse:
    """The audit log, newest first, filterable by action."""
    filters = ActivityFilterForm(request.GET)
    action = filters.cleaned_data["action"] if filters.is_valid() else ""
    entries = AuditEntry.objects.filter(group=group).select_related("actor")
    if action:
        entries = entries.filter(action=action)
    page = Paginator(entries, ACTIVITY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "groups/activity.html",
        {
            "group": group,
            "filters": filters,
            "page": page,
            "filter_query": urlencode({"action": action}) if action else "",
        },
    )
