"""Every change to who is in a group: invitations, roles, removals.

A group always keeps at least one admin. Every change that could take away an admin
first locks the group's row, so that two admins acting at the same moment are
serialized and the second one counts the admins the first one left behind.
"""

import logging
from datetime import timedelta
from functools import partial

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from groups.models import ApiGroup, AuditAction, Membership, Role
from groups.services import record_audit
from members import tokens
from members.models import Invitation, InvitationStatus

logger = logging.getLogger(__name__)


class MembershipError(Exception):
    """A refused change; the message is written for the person who asked."""


class LastAdminError(MembershipError):
    pass


class InvitationError(MembershipError):
    pass


def user_emails(user: User) -> set[str]:
    """The addresses the user has proven, lower case (plus the account's own)."""
    verified = EmailAddress.objects.filter(user=user, verified=True).values_list(
        "email", flat=True
    )
    emails = {email.lower() for email in verified}
    if user.email:
        emails.add(user.email.lower())
    return emails


def is_member_address(group: ApiGroup, email: str) -> bool:
    return (
        Membership.objects.filter(group=group)
        .filter(
            Q(user__email__iexact=email)
            | Q(
                user__emailaddress__email__iexact=email,
                user__emailaddress__verified=True,
            )
        )
        .exists()
    )


def invitation_url(invitation: Invitation) -> str:
    token = tokens.token_for(invitation.nonce)
    path = reverse("members:invitation", kwargs={"token": token})
    return f"{settings.PORTAL_BASE_URL}{path}"


def find_invitation(token: str) -> Invitation | None:
    """Return the invitation a link's token belongs to, whatever its state."""
    if not token or len(token) > 100:
        return None
    return (
        Invitation.objects.select_related("group", "invited_by")
        .filter(token_hash=tokens.hash_token(token))
        .first()
    )


def _issue_link(invitation: Invitation) -> None:
    """Give the invitation a fresh link and expiry; the old link stops working."""
    now = timezone.now()
    invitation.nonce = tokens.new_nonce()
    invitation.token_hash = tokens.hash_token(tokens.token_for(invitation.nonce))
    invitation.issued_at = now
    invitation.expires_at = now + timedelta(days=settings.INVITATION_TTL_DAYS)
    invitation.email_sent_at = None


def _send_after_commit(invitation: Invitation) -> None:
    from members.tasks import send_invitation_email

    transaction.on_commit(
        partial(send_invitation_email.delay, invitation.pk), robust=True
    )


def invite_member(group: ApiGroup, actor: User, email: str, role: str) -> Invitation:
    """Invite an address into the group in a role and email it a link."""
    email = email.strip().lower()
    if role not in Role.values:
        raise InvitationError("Choose a role: Admin or Member.")
    try:
        with transaction.atomic():
            invitation = _create_invitation(group, actor, email, role)
    except IntegrityError:
        # Another admin invited the same address a moment ago.
        raise InvitationError(
            f"{email} already has a pending invitation to this group."
        ) from None
    logger.info(
        "member invited invitation=%s group=%s role=%s by=%s",
        invitation.pk,
        group.pk,
        role,
        actor.pk,
    )
    return invitation


def _create_invitation(
    group: ApiGroup, actor: User, email: str, role: str
) -> Invitation:
    if is_member_address(group, email):
        raise InvitationError(f"{email} is already a member of this group.")
    pending = Invitation.objects.filter(
        group=group, email=email, status=InvitationStatus.PENDING
    ).first()
    if pending is not None and not pending.is_expired:
        raise InvitationError(
            f"{email} already has a pending invitation to this group. "
            "Resend it from the list of invitations."
        )
    if pending is not None:
        _close(pending, InvitationStatus.EXPIRED)

    invitation = Invitation(group=group, email=email, role=role, invited_by=actor)
    _issue_link(invitation)
    invitation.save()
    record_audit(
        group,
        actor,
        AuditAction.MEMBER_INVITED,
        target=email,
        changes={"role": role},
    )
    _send_after_commit(invitation)
    return invitation


def _close(invitation: Invitation, status: str, **fields) -> None:
    invitation.status = status
    invitation.closed_at = timezone.now()
    for name, value in fields.items():
        setattr(invitation, name, value)
    invitation.save(update_fields=["status", "closed_at", *fields])


def _locked_pending(group: ApiGroup, invitation_id: int) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update()
        .filter(group=group, pk=invitation_id)
        .first()
    )
    if invitation is None or invitation.status != InvitationStatus.PENDING:
        raise InvitationError("That invitation is no longer pending.")
    return invitation


def resend_invitation(group: ApiGroup, actor: User, invitation_id: int) -> Invitation:
    """Email a new link with a new expiry; the previous link stops working."""
    with transaction.atomic():
        invitation = _locked_pending(group, invitation_id)
        if is_member_address(group, invitation.email):
            raise InvitationError(f"{invitation.email} is already a member.")
        _issue_link(invitation)
        invitation.save()
        record_audit(
            group, actor, AuditAction.INVITATION_RESENT, target=invitation.email
        )
        _send_after_commit(invitation)
    logger.info("invitation resent invitation=%s group=%s", invitation.pk, group.pk)
    return invitation


def revoke_invitation(group: ApiGroup, actor: User, invitation_id: int) -> Invitation:
    """Withdraw a pending invitation; its link stops working at once."""
    with transaction.atomic():
        invitation = _locked_pending(group, invitation_id)
        _close(invitation, InvitationStatus.REVOKED)
        record_audit(
            group, actor, AuditAction.INVITATION_REVOKED, target=invitation.email
        )
    logger.info("invitation revoked invitation=%s group=%s", invitation.pk, group.pk)
    return invitation


def unusable_reason(invitation: Invitation) -> str:
    """Why a link cannot be used any more, or "" while it can."""
    if invitation.status == InvitationStatus.ACCEPTED:
        return "used"
    if invitation.status == InvitationStatus.REVOKED:
        return "revoked"
    if invitation.status == InvitationStatus.EXPIRED or invitation.is_expired:
        return "expired"
    return ""


def accept_invitation(invitation: Invitation, user: User) -> Membership:
    """Make `user` a member in the invited role; the link is then used up.

    The invitation row is locked first, so that two tabs (or two people) accepting
    the same link at once yield one membership: the second sees it used.
    """
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if unusable_reason(locked):
            raise InvitationError("This invitation can no longer be used.")
        if locked.email not in user_emails(user):
            raise InvitationError(f"This invitation is for {locked.email}.")
        if Membership.objects.filter(group_id=locked.group_id, user=user).exists():
            raise InvitationError("You are already a member of this group.")

        membership = Membership.objects.create(
            group_id=locked.group_id,
            user=user,
            role=locked.role,
            last_opened_at=timezone.now(),
        )
        _close(locked, InvitationStatus.ACCEPTED, accepted_by=user)
        record_audit(
            locked.group,
            user,
            AuditAction.MEMBER_JOINED,
            target=user.email,
            changes={
                "role": locked.role,
                "invited_by": locked.invited_by.email if locked.invited_by else "",
            },
        )
    logger.info(
        "invitation accepted invitation=%s group=%s user=%s role=%s",
        locked.pk,
        locked.group_id,
        user.pk,
        locked.role,
    )
    return membership


def _lock_group(group: ApiGroup) -> None:
    # Serializes every change to the group's admins (a no-op on SQLite, which
    # allows one writer at a time anyway).
    ApiGroup.objects.select_for_update().filter(pk=group.pk).first()


def _locked_membership(group: ApiGroup, membership_id: int) -> Membership:
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(group=group, pk=membership_id)
        .first()
    )
    if membership is None:
        raise MembershipError("That person is no longer a member of this group.")
    return membership


def _ensure_another_admin(group: ApiGroup, membership: Membership, doing: str) -> None:
    if membership.role != Role.ADMIN:
        return
    others = Membership.objects.filter(group=group, role=Role.ADMIN).exclude(
        pk=membership.pk
    )
    if not others.exists():
        raise LastAdminError(
            f"A group must keep at least one admin: make someone else an admin "
            f"before {doing}."
        )


def change_role(
    group: ApiGroup, actor: User, membership_id: int, role: str
) -> Membership:
    """Give a member another role; the last admin cannot be demoted."""
    if role not in Role.values:
        raise MembershipError("Choose a role: Admin or Member.")
    with transaction.atomic():
        _lock_group(group)
        membership = _locked_membership(group, membership_id)
        old_role = membership.role
        if old_role == role:
            return membership
        if role != Role.ADMIN:
            _ensure_another_admin(group, membership, "changing this role")
        membership.role = role
        membership.save(update_fields=["role"])
        record_audit(
            group,
            actor,
            AuditAction.ROLE_CHANGED,
            target=membership.user.email,
            changes={"role": [old_role, role]},
        )
    logger.info(
        "role changed group=%s membership=%s role=%s->%s by=%s",
        group.pk,
        membership.pk,
        old_role,
        role,
        actor.pk,
    )
    return membership


def remove_member(group: ApiGroup, actor: User, membership_id: int) -> Membership:
    """Take someone out of the group; the last admin cannot be removed."""
    with transaction.atomic():
        _lock_group(group)
        membership = _locked_membership(group, membership_id)
        _ensure_another_admin(group, membership, "removing this admin")
        membership.delete()
        record_audit(
            group,
            actor,
            AuditAction.MEMBER_REMOVED,
            target=membership.user.email,
            changes={"role": membership.role},
        )
    logger.info(
        "member removed group=%s user=%s by=%s",
        group.pk,
        membership.user_id,
        actor.pk,
    )
    return membership


def leave_group(group: ApiGroup, user: User) -> None:
    """Take the user out of the group; the last admin cannot leave."""
    with transaction.atomic():
        _lock_group(group)
        membership = (
            Membership.objects.select_for_update()
            .filter(group=group, user=user)
            .first()
        )
        if membership is None:
            raise MembershipError("You are not a member of this group.")
        _ensure_another_admin(group, membership, "leaving")
        membership.delete()
        record_audit(
            group,
            user,
            AuditAction.MEMBER_LEFT,
            target=user.email,
            changes={"role": membership.role},
        )
    logger.info("member left group=%s user=%s", group.pk, user.pk)
