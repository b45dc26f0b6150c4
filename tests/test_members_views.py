"""The members page and its actions, as an admin, a member and an outsider."""

import pytest
from django.core import mail

from groups.models import AuditAction, AuditEntry, Membership, Role
from members.models import Invitation, InvitationStatus
from members.services import invite_member
from tests.factories import MembershipFactory, UserFactory


def _url(group, suffix=""):
    return f"/g/{group.slug}/members/{suffix}"


def test_members_page_for_admin_member_and_outsider(
    group, admin_client, member_client, outsider_client, admin_user, member_user
):
    admin_page = admin_client.get(_url(group))
    assert admin_page.status_code == 200
    html = admin_page.content.decode()
    assert member_user.email in html and admin_user.email in html
    assert "Invite someone" in html and "Change role" in html

    member_page = member_client.get(_url(group))
    assert member_page.status_code == 200
    html = member_page.content.decode()
    assert admin_user.email in html
    assert "Leave group" in html
    assert "Invite someone" not in html
    assert "Change role" not in html and ">Remove<" not in html

    assert outsider_client.get(_url(group)).status_code == 404


def test_members_list_shows_name_email_role_and_joined(group, admin_client):
    person = UserFactory(first_name="Ada", last_name="Lovelace")
    MembershipFactory(group=group, user=person)
    html = admin_client.get(_url(group)).content.decode()
    assert "Ada Lovelace" in html
    assert person.email in html
    assert "Joined" in html


def test_role_filter_and_search_survive_paging(group, admin_client):
    for n in range(30):
        MembershipFactory(group=group, role=Role.ADMIN, user__email=f"a{n:02}@x.test")
    MembershipFactory(group=group, role=Role.MEMBER, user__email="m@x.test")

    first = admin_client.get(_url(group), {"role": "admin"})
    html = first.content.decode()
    assert "m@x.test" not in html
    assert "Page 1 of 2" in html
    assert 'href="?role=admin&amp;page=2"' in html

    second = admin_client.get(_url(group), {"role": "admin", "page": 2}).content
    assert b"m@x.test" not in second
    assert b"Page 2 of 2" in second

    searched = admin_client.get(_url(group), {"q": "a07@X"}).content.decode()
    assert "a07@x.test" in searched and "a08@x.test" not in searched


def test_search_matches_the_full_name(group, admin_client):
    MembershipFactory(group=group, user__first_name="Grace", user__last_name="Hopper")
    html = admin_client.get(_url(group), {"q": "grace hop"}).content.decode()
    assert "Grace Hopper" in html


def test_admin_invites_by_email_and_role(
    group, admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            _url(group, "invite/"), {"email": "Teammate@Example.com", "role": "member"}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get(group=group)
    assert (invitation.email, invitation.role) == ("teammate@example.com", "member")
    assert mail.outbox[0].to == ["teammate@example.com"]
    html = admin_client.get(_url(group)).content.decode()
    assert "Invitation sent to teammate@example.com" in html
    assert "Pending invitations" in html and "teammate@example.com" in html


def test_inviting_a_member_again_shows_the_reason_next_to_the_field(
    group, admin_client, member_user
):
    response = admin_client.post(
        _url(group, "invite/"), {"email": member_user.email, "role": "member"}
    )
    assert response.status_code == 200
    assert "is already a member of this group" in response.content.decode()
    assert not Invitation.objects.exists()


def test_invite_form_rejects_a_bad_address(group, admin_client):
    response = admin_client.post(
        _url(group, "invite/"), {"email": "not-an-email", "role": "member"}
    )
    assert "Enter a valid email address." in response.content.decode()
    assert not Invitation.objects.exists()


def test_invite_for_member_and_outsider(group, member_client, outsider_client):
    data = {"email": "x@example.com", "role": "member"}
    assert member_client.get(_url(group, "invite/")).status_code == 403
    assert member_client.post(_url(group, "invite/"), data).status_code == 403
    assert outsider_client.post(_url(group, "invite/"), data).status_code == 404
    assert not Invitation.objects.exists()


def test_admin_changes_a_role(group, admin_client, member_user):
    membership = member_user.memberships.get(group=group)
    url = _url(group, f"{membership.pk}/role/")
    response = admin_client.post(url, {"role": "admin"}, follow=True)
    assert f"{member_user.email} is now admin" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_change_role_for_member_and_outsider(
    group, admin_user, member_client, outsider_client
):
    target = admin_user.memberships.get(group=group)
    url = _url(group, f"{target.pk}/role/")
    assert member_client.post(url, {"role": "member"}).status_code == 403
    assert outsider_client.post(url, {"role": "member"}).status_code == 404
    target.refresh_from_db()
    assert target.role == Role.ADMIN


def test_demoting_the_last_admin_shows_why_and_changes_nothing(
    group, admin_client, admin_user
):
    target = admin_user.memberships.get(group=group)
    response = admin_client.post(
        _url(group, f"{target.pk}/role/"), {"role": "member"}, follow=True
    )
    assert "must keep at least one admin" in response.content.decode()
    target.refresh_from_db()
    assert target.role == Role.ADMIN


def test_admin_removes_a_member(group, admin_client, member_user):
    membership = member_user.memberships.get(group=group)
    response = admin_client.post(_url(group, f"{membership.pk}/remove/"), follow=True)
    assert "was removed from" in response.content.decode()
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_remove_for_member_and_outsider(
    group, admin_user, member_client, outsider_client
):
    target = admin_user.memberships.get(group=group)
    url = _url(group, f"{target.pk}/remove/")
    assert member_client.post(url).status_code == 403
    assert outsider_client.post(url).status_code == 404
    assert member_client.get(url).status_code == 403
    assert Membership.objects.filter(pk=target.pk).exists()


def test_removing_the_last_admin_is_refused(group, admin_client, admin_user):
    target = admin_user.memberships.get(group=group)
    response = admin_client.post(_url(group, f"{target.pk}/remove/"), follow=True)
    assert "must keep at least one admin" in response.content.decode()
    assert Membership.objects.filter(pk=target.pk).exists()


def test_a_member_leaves(group, member_client, member_user):
    response = member_client.post(_url(group, "leave/"))
    assert response.status_code == 302
    assert not Membership.objects.filter(group=group, user=member_user).exists()
    assert AuditEntry.objects.filter(action=AuditAction.MEMBER_LEFT).exists()
    assert member_client.get(_url(group)).status_code == 404


def test_the_last_admin_cannot_leave(group, admin_client, admin_user):
    response = admin_client.post(_url(group, "leave/"), follow=True)
    assert "must keep at least one admin" in response.content.decode()
    assert Membership.objects.filter(group=group, user=admin_user).exists()


def test_leave_for_an_outsider_is_404(group, outsider_client):
    assert outsider_client.post(_url(group, "leave/")).status_code == 404


def test_leave_needs_post(group, member_client, member_user):
    assert member_client.get(_url(group, "leave/")).status_code == 405
    assert Membership.objects.filter(group=group, user=member_user).exists()


@pytest.fixture
def invitation(group, admin_user):
    return invite_member(group, admin_user, "pending@example.com", Role.MEMBER)


def test_admin_resends_an_invitation(
    group, admin_client, invitation, django_capture_on_commit_callbacks
):
    old_hash = invitation.token_hash
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            _url(group, f"invitations/{invitation.pk}/resend/"), follow=True
        )
    assert "the previous one no longer works" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.token_hash != old_hash
    assert mail.outbox[-1].to == ["pending@example.com"]


def test_admin_revokes_an_invitation(group, admin_client, invitation):
    response = admin_client.post(
        _url(group, f"invitations/{invitation.pk}/revoke/"), follow=True
    )
    assert "was revoked" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.REVOKED


def test_resend_and_revoke_for_member_and_outsider(
    group, member_client, outsider_client, invitation
):
    for action in ("resend", "revoke"):
        url = _url(group, f"invitations/{invitation.pk}/{action}/")
        assert member_client.post(url).status_code == 403
        assert outsider_client.post(url).status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING
    assert mail.outbox == []


def test_members_see_pending_invitations_without_actions(
    group, member_client, invitation
):
    html = member_client.get(_url(group)).content.decode()
    assert "pending@example.com" in html
    assert "Resend" not in html and "Revoke" not in html
