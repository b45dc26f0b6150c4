from urllib.parse import urlencode

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db.models import Q, Value
from django.db.models.functions import Concat
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from groups.access import GroupRequest, group_view
from groups.models import ApiGroup, Capability, Membership, Role
from members import services
from members.forms import InviteForm, MemberFilterForm, RoleForm
from members.models import Invitation, InvitationStatus

MEMBERS_PAGE_SIZE = 25


def _filtered_members(group: ApiGroup, role: str, query: str):
    members = (
        Membership.objects.filter(group=group)
        .select_related("user")
        .annotate(full_name=Concat("user__first_name", Value(" "), "user__last_name"))
        .order_by("role", "user__email", "pk")
    )
    if role:
        members = members.filter(role=role)
    if query:
        members = members.filter(
            Q(full_name__icontains=query) | Q(user__email__icontains=query)
        )
    return members


def _pending_invitations(group: ApiGroup, role: str, query: str):
    invitations = Invitation.objects.filter(
        group=group, status=InvitationStatus.PENDING
    ).select_related("invited_by")
    if role:
        invitations = invitations.filter(role=role)
    if query:
        invitations = invitations.filter(email__icontains=query)
    return invitations


# Every member sees who else is in the group; the actions on the page show only
# with MANAGE_MEMBERS.
@group_view(Capability.VIEW_MEMBERS)
@require_GET
def member_list(request: GroupRequest, group: ApiGroup) -> HttpResponse:
    """Members and pending invitations, filtered by role and a search."""
    filters = MemberFilterForm(request.GET)
    valid = filters.is_valid()
    role = filters.cleaned_data["role"] if valid else ""
    query = filters.cleaned_data["q"].strip() if valid else ""
    members = _filtered_members(group, role, query)
    page = Paginator(members, MEMBERS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "members/list.html",
        {
            "group": group,
            "page": page,
            "filters": filters,
            "filter_query": urlencode(
                {k: v for k, v in (("q", query), ("role", role)) if v}
            ),
            "invitations": _pending_invitations(group, role, query),
            "can_manage": request.membership.can(Capability.MANAGE_MEMBERS),
            "invite_form": InviteForm(),
            "roles": Role.choices,
            "admin_count": Membership.objects.filter(
                group=group, role=Role.ADMIN
            ).count(),
        },
    )


@group_view(Capability.MANAGE_MEMBERS)
@require_http_methods(["GET", "POST"])
def invite(request: GroupRequest, group: ApiGroup) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invite_member(
                group,
                request.user,
                form.cleaned_data["email"],
                form.cleaned_data["role"],
            )
        except services.MembershipError as error:
            form.add_error("email", str(error))
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.email} as "
                f"{invitation.get_role_display().lower()}.",
            )
            return redirect("members:list", group_slug=group.slug)
    return render(request, "members/invite.html", {"group": group, "form": form})


def _back_to_list(group: ApiGroup) -> HttpResponse:
    return redirect("members:list", group_slug=group.slug)


@group_view(Capability.MANAGE_MEMBERS)
@require_POST
def change_role(
    request: GroupRequest, group: ApiGroup, membership_id: int
) -> HttpResponse:
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: Admin or Member.")
        return _back_to_list(group)
    try:
        membership = services.change_role(
            group, request.user, membership_id, form.cleaned_data["role"]
        )
    except services.MembershipError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"{membership.user.email} is now {membership.get_role_display().lower()}.",
        )
    return _back_to_list(group)


@group_view(Capability.MANAGE_MEMBERS)
@require_POST
def remove(request: GroupRequest, group: ApiGroup, membership_id: int) -> HttpResponse:
    try:
        membership = services.remove_member(group, request.user, membership_id)
    except services.MembershipError as error:
        messages.error(request, str(error))
        return _back_to_list(group)
    if membership.user_id == request.user.pk:
        messages.success(request, f"You left {group.name}.")
        return redirect("home")
    messages.success(request, f"{membership.user.email} was removed from {group.name}.")
    return _back_to_list(group)


@group_view(Capability.LEAVE_GROUP)
@require_POST
def leave(request: GroupRequest, group: ApiGroup) -> HttpResponse:
    try:
        services.leave_group(group, request.user)
    except services.MembershipError as error:
        messages.error(request, str(error))
        return _back_to_list(group)
    messages.success(request, f"You left {group.name}.")
    return redirect("home")


@group_view(Capability.MANAGE_MEMBERS)
@require_POST
def resend_invitation(
    request: GroupRequest, group: ApiGroup, invitation_id: int
) -> HttpResponse:
    try:
        invitation = services.resend_invitation(group, request.user, invitation_id)
    except services.MembershipError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"A new link was sent to {invitation.email}; "
            "the previous one no longer works.",
        )
    return _back_to_list(group)


@group_view(Capability.MANAGE_MEMBERS)
@require_POST
def revoke_invitation(
    request: GroupRequest, group: ApiGroup, invitation_id: int
) -> HttpResponse:
    try:
        invitation = services.revoke_invitation(group, request.user, invitation_id)
    except services.MembershipError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"The invitation to {invitation.email} was revoked.")
    return _back_to_list(group)


def _has_account(email: str) -> bool:
    return (
        get_user_model().objects.filter(email__iexact=email).exists()
        or EmailAddress.objects.filter(email__iexact=email).exists()
    )


def _unusable(request: HttpRequest, invitation: Invitation | None, reason: str):
    return render(
        request,
        "members/invitation_unusable.html",
        {"invitation": invitation, "reason": reason},
        status=404 if invitation is None else 410,
    )


# Opening the link joins a signed-in invitee at once, on GET: it takes both the
# secret link and a session proving the invited address, and does only what the
# invitation says; a link scanner without that session only sees the welcome page.
@never_cache
@require_GET
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Where an invitation link lands: join, or sign up or log in first."""
    invitation = services.find_invitation(token)
    if invitation is None:
        return _unusable(request, None, "unknown")
    reason = services.unusable_reason(invitation)
    user = request.user
    if reason == "used" and _joined_with_it(invitation, user):
        return redirect("groups:overview", group_slug=invitation.group.slug)
    if reason:
        return _unusable(request, invitation, reason)

    if not user.is_authenticated:
        return _welcome(request, invitation)
    if invitation.email not in services.user_emails(user):
        return render(
            request,
            "members/invitation_wrong_account.html",
            {"invitation": invitation},
            status=403,
        )
    return _join(request, invitation, user)


def _joined_with_it(invitation: Invitation, user) -> bool:
    return (
        user.is_authenticated
        and invitation.accepted_by_id == user.pk
        and Membership.objects.filter(group=invitation.group, user=user).exists()
    )


def _welcome(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    # Holding the link proves the address: a sign-up with it needs no second check.
    get_adapter(request).stash_verified_email(request, invitation.email)
    back = {"next": request.path}
    return render(
        request,
        "members/invitation_welcome.html",
        {
            "invitation": invitation,
            "has_account": _has_account(invitation.email),
            "login_url": f"{reverse('account_login')}?{urlencode(back)}",
            "signup_url": f"{reverse('account_signup')}?"
            + urlencode({"email": invitation.email, **back}),
        },
    )


def _join(request: HttpRequest, invitation: Invitation, user: User) -> HttpResponse:
    group = invitation.group
    if Membership.objects.filter(group=group, user=user).exists():
        messages.info(request, f"You are already a member of {group.name}.")
        return redirect("groups:overview", group_slug=group.slug)
    try:
        membership = services.accept_invitation(invitation, user)
    except services.MembershipError:
        # Someone (another tab) used the link a moment ago.
        invitation.refresh_from_db()
        if _joined_with_it(invitation, user):
            return redirect("groups:overview", group_slug=group.slug)
        return _unusable(request, invitation, services.unusable_reason(invitation))
    messages.success(
        request,
        f"Welcome to {group.name}. "
        f"You joined as {membership.get_role_display().lower()}.",
    )
    return redirect("groups:overview", group_slug=group.slug)
