from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from groups.access import SESSION_LAST_GROUP, group_view
from groups.forms import GroupCreateForm
from groups.models import ApiGroup, Capability, Membership
from groups.services import create_group
from groups.signals import overview_panels


@login_required
def home(request: HttpRequest) -> HttpResponse:
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
def group_create(request: HttpRequest) -> HttpResponse:
    form = GroupCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        group = create_group(request.user, **form.cleaned_data)
        return redirect("groups:settings", group_slug=group.slug)
    return render(request, "groups/create.html", {"form": form})


@group_view(Capability.VIEW_USAGE)
def group_overview(request: HttpRequest, group: ApiGroup) -> HttpResponse:
    replies = overview_panels.send(
        sender=ApiGroup, group=group, membership=request.membership
    )
    panels = sorted(
        (panel for _, panel in replies if panel), key=lambda panel: panel["order"]
    )
    return render(request, "groups/overview.html", {"group": group, "panels": panels})
