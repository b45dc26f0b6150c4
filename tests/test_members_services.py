"""The rules of membership: invitations, roles, the last admin."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from groups.models import AuditAction, AuditEntry, Membership, Role
from members import services, tokens
from members.models import Invitation, InvitationStatus
from members.tasks import send_invitation_email
from tests.factories import MembershipFactory, UserFactory


def _invite(group, admin, email="new@example.com", role=Role.MEMBER):
    return services.invite_member(group, admin, email, role)


def _token_in(message) -> str:
    return message.body.split("/invitations/")[1].split("/")[0]


def test_invitation_emails_a_link_whose_token_is_stored_only_hashed(
    group, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = _invite(group, admin_user, "New.Person@Example.com")

    assert invitation.email == "new.person@example.com"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.com"]
    assert group.name in message.subject
    token = _token_in(message)
    assert invitation.token_hash == tokens.hash_token(token)
    stored = Invitation.objects.filter(pk=invitation.pk).values().get()
    assert all(token not in str(value) for value in stored.values())
    assert services.find_invitation(token) == invitation
    entry = AuditEntry.objects.get(group=group, action=AuditAction.MEMBER_INVITED)
    assert entry.actor == admin_user
    assert entry.target == "new.person@example.com"
    assert entry.changes == {"role": "member"}


def test_invitation_expires_after_the_configured_days(group, admin_user, settings):
    settings.INVITATION_TTL_DAYS = 7
    invitation = _invite(group, admin_user)
    assert invitation.expires_at - invitation.issued_at == timedelta(days=7)


def test_email_task_sends_once_even_when_run_twice(
    group, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = _invite(group, admin_user)
    send_invitation_email(invitation.pk)
    send_invitation_email(invitation.pk)
    assert len(mail.outbox) == 1


def test_email_task_skips_a_revoked_invitation(group, admin_user):
    invitation = _invite(group, admin_user)  # on_commit never runs here
    services.revoke_invitation(group, admin_user, invitation.pk)
    send_invitation_email(invitation.pk)
    assert mail.outbox == []


def test_inviting_an_existing_member_is_refused(group, admin_user, member_user):
    with pytest.raises(services.InvitationError, match="already a member"):
        _invite(group, admin_user, member_user.email.upper())
    assert not Invitation.objects.exists()


def test_inviting_an_address_with_a_pending_invitation_is_refused(group, admin_user):
    _invite(group, admin_user, "twice@example.com")
    with pytest.raises(services.InvitationError, match="pending invitation"):
        _invite(group, admin_user, "TWICE@example.com", Role.ADMIN)
    assert Invitation.objects.filter(email="twice@example.com").count() == 1


def test_an_expired_invitation_gives_way_to_a_new_one(group, admin_user):
    old = _invite(group, admin_user, "late@example.com")
    Invitation.objects.filter(pk=old.pk).update(expires_at=timezone.now())
    new = _invite(group, admin_user, "late@example.com")
    old.refresh_from_db()
    assert old.status == InvitationStatus.EXPIRED
    assert new.is_usable


def test_accepting_makes_a_member_in_the_invited_role(group, admin_user):
    invitation = _invite(group, admin_user, "Joiner@Example.com", Role.ADMIN)
    joiner = UserFactory(email="joiner@example.com")
    membership = services.accept_invitation(invitation, joiner)

    assert membership.role == Role.ADMIN
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert invitation.accepted_by == joiner
    entry = AuditEntry.objects.get(action=AuditAction.MEMBER_JOINED)
    assert (entry.actor, entry.target) == (joiner, "joiner@example.com")


def test_accepting_twice_is_refused(group, admin_user):
    invitation = _invite(group, admin_user, "once@example.com")
    joiner = UserFactory(email="once@example.com")
    services.accept_invitation(invitation, joiner)
    with pytest.raises(services.InvitationError):
        services.accept_invitation(invitation, joiner)
    assert Membership.objects.filter(group=group, user=joiner).count() == 1


@pytest.mark.parametrize("state", ["revoked", "expired"])
def test_a_dead_invitation_cannot_be_accepted(group, admin_user, state):
    invitation = _invite(group, admin_user, "dead@example.com")
    if state == "revoked":
        services.revoke_invitation(group, admin_user, invitation.pk)
    else:
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    joiner = UserFactory(email="dead@example.com")
    with pytest.raises(services.InvitationError):
        services.accept_invitation(invitation, joiner)
    assert not Membership.objects.filter(user=joiner).exists()


def test_accepting_with_another_address_is_refused(group, admin_user):
    invitation = _invite(group, admin_user, "right@example.com")
    stranger = UserFactory(email="wrong@example.com")
    with pytest.raises(services.InvitationError, match=r"right@example\.com"):
        services.accept_invitation(invitation, stranger)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING


def test_resend_issues_a_new_link_and_kills_the_old_one(
    group, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = _invite(group, admin_user)
    old_token = _token_in(mail.outbox[0])
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.resend_invitation(group, admin_user, invitation.pk)

    new_token = _token_in(mail.outbox[1])
    assert new_token != old_token
    assert services.find_invitation(old_token) is None
    assert services.find_invitation(new_token).is_usable
    assert AuditEntry.objects.filter(action=AuditAction.INVITATION_RESENT).count() == 1


def test_revoke_closes_the_invitation_and_audits(group, admin_user):
    invitation = _invite(group, admin_user, "gone@example.com")
    services.revoke_invitation(group, admin_user, invitation.pk)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.REVOKED
    assert invitation.closed_at is not None
    entry = AuditEntry.objects.get(action=AuditAction.INVITATION_REVOKED)
    assert entry.target == "gone@example.com"
    with pytest.raises(services.InvitationError, match="no longer pending"):
        services.revoke_invitation(group, admin_user, invitation.pk)


def test_invitations_of_another_group_are_out_of_reach(group, admin_user, outsider):
    other_group = outsider.memberships.get().group
    invitation = _invite(other_group, outsider, "theirs@example.com")
    with pytest.raises(services.InvitationError):
        services.revoke_invitation(group, admin_user, invitation.pk)
    with pytest.raises(services.InvitationError):
        services.resend_invitation(group, admin_user, invitation.pk)


def test_role_change_is_audited_with_old_and_new(group, admin_user, member_user):
    membership = member_user.memberships.get(group=group)
    services.change_role(group, admin_user, membership.pk, Role.ADMIN)
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    entry = AuditEntry.objects.get(action=AuditAction.ROLE_CHANGED)
    assert entry.changes == {"role": ["member", "admin"]}
    assert entry.target == member_user.email


def test_the_last_admin_cannot_be_demoted_removed_or_leave(group, admin_user):
    membership = admin_user.memberships.get(group=group)
    with pytest.raises(services.LastAdminError):
        services.change_role(group, admin_user, membership.pk, Role.MEMBER)
    with pytest.raises(services.LastAdminError):
        services.remove_member(group, admin_user, membership.pk)
    with pytest.raises(services.LastAdminError):
        services.leave_group(group, admin_user)
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    assert not AuditEntry.objects.filter(group=group).exists()


def test_an_admin_can_step_down_when_another_admin_remains(group, admin_user):
    MembershipFactory(group=group, role=Role.ADMIN)
    membership = admin_user.memberships.get(group=group)
    services.change_role(group, admin_user, membership.pk, Role.MEMBER)
    services.leave_group(group, admin_user)
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert AuditEntry.objects.filter(action=AuditAction.MEMBER_LEFT).count() == 1


def test_removing_a_member_is_audited(group, admin_user, member_user):
    membership = member_user.memberships.get(group=group)
    services.remove_member(group, admin_user, membership.pk)
    assert not Membership.objects.filter(pk=membership.pk).exists()
    entry = AuditEntry.objects.get(action=AuditAction.MEMBER_REMOVED)
    assert (entry.actor, entry.target) == (admin_user, member_user.email)


def test_a_member_of_another_group_cannot_be_touched(group, admin_user, outsider):
    theirs = outsider.memberships.get()
    with pytest.raises(services.MembershipError):
        services.remove_member(group, admin_user, theirs.pk)
    with pytest.raises(services.MembershipError):
        services.change_role(group, admin_user, theirs.pk, Role.MEMBER)
    assert Membership.objects.filter(pk=theirs.pk, role=Role.ADMIN).exists()


def test_after_a_secret_key_change_no_broken_link_is_mailed(
    group, admin_user, settings
):
    invitation = _invite(group, admin_user)  # its email task has not run yet
    settings.SECRET_KEY = "a-rotated-key-that-no-longer-rebuilds-the-link"
    send_invitation_email(invitation.pk)
    assert mail.outbox == []
