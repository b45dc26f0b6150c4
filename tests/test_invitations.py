"""Following an invitation link: who joins, who signs in first, who is turned away."""

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from groups.models import AuditAction, AuditEntry, Membership, Role
from members import services
from members.models import Invitation, InvitationStatus
from tests.factories import DEFAULT_PASSWORD, UserFactory


@pytest.fixture
def invite(group, admin_user, django_capture_on_commit_callbacks):
    """Invite an address and return the path of the link in the email."""

    def _invite(email="invitee@example.com", role=Role.MEMBER):
        with django_capture_on_commit_callbacks(execute=True):
            services.invite_member(group, admin_user, email, role)
        return re.search(r"/invitations/[^/\s]+/", mail.outbox[-1].body).group(0)

    return _invite


def test_a_signed_in_user_with_the_address_joins_at_once(client, group, invite):
    path = invite("Invitee@Example.com", Role.MEMBER)
    user = UserFactory(email="INVITEE@example.com")
    client.force_login(user)

    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/g/{group.slug}/"
    membership = Membership.objects.get(group=group, user=user)
    assert membership.role == Role.MEMBER
    page = client.get(response["Location"]).content.decode()
    assert f"Welcome to {group.name}" in page


def test_a_verified_secondary_address_also_matches(client, group, invite):
    path = invite("second@example.com")
    user = UserFactory(email="first@example.com")
    EmailAddress.objects.create(user=user, email="second@example.com", verified=True)
    client.force_login(user)
    assert client.get(path).status_code == 302
    assert Membership.objects.filter(group=group, user=user).exists()


def test_an_unverified_secondary_address_does_not_match(client, group, invite):
    path = invite("second@example.com")
    user = UserFactory(email="first@example.com")
    EmailAddress.objects.create(user=user, email="second@example.com", verified=False)
    client.force_login(user)
    assert client.get(path).status_code == 403
    assert not Membership.objects.filter(group=group, user=user).exists()


def test_someone_signed_in_with_another_address_is_told_which_one(
    client, group, invite
):
    path = invite("invitee@example.com")
    client.force_login(UserFactory(email="someone.else@example.com"))

    response = client.get(path)
    assert response.status_code == 403
    html = response.content.decode()
    assert "This invitation is for another address" in html
    assert "invitee@example.com" in html
    assert Membership.objects.filter(group=group).count() == 1  # the admin only
    assert Invitation.objects.get().status == InvitationStatus.PENDING


def test_the_wrong_account_can_log_out_and_come_back_to_the_link(client, group, invite):
    path = invite("invitee@example.com")
    client.force_login(UserFactory(email="someone.else@example.com"))
    response = client.post("/accounts/logout/", {"next": path})
    assert response["Location"] == path
    assert "Join" in client.get(path).content.decode()


def test_a_visitor_without_an_account_signs_up_already_verified(client, group, invite):
    path = invite("fresh@example.com")
    welcome = client.get(path)
    html = welcome.content.decode()
    assert welcome.status_code == 200
    assert f"Join {group.name}" in html
    signup_url = re.search(r'href="(/accounts/signup/[^"]+)"', html).group(1)
    signup_url = signup_url.replace("&amp;", "&")

    form = client.get(signup_url).content.decode()
    assert 'value="fresh@example.com"' in form  # prefilled
    outbox_before = len(mail.outbox)
    response = client.post(
        signup_url,
        {
            "email": "fresh@example.com",
            "name": "Fresh Person",
            "password1": DEFAULT_PASSWORD,
            "password2": DEFAULT_PASSWORD,
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/g/{group.slug}/"
    user = get_user_model().objects.get(email="fresh@example.com")
    assert user.get_full_name() == "Fresh Person"
    assert EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == outbox_before  # no confirmation email needed
    assert Membership.objects.get(group=group, user=user).role == Role.MEMBER


def test_a_visitor_with_an_account_logs_in_and_joins(client, group, invite):
    user = UserFactory(email="known@example.com")
    path = invite("known@example.com", Role.ADMIN)
    html = client.get(path).content.decode()
    assert "Log in and join" in html
    login_url = re.search(r'href="(/accounts/login/[^"]+)"', html).group(1)

    response = client.post(
        login_url.replace("&amp;", "&"),
        {"login": "known@example.com", "password": DEFAULT_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/g/{group.slug}/"
    assert Membership.objects.get(group=group, user=user).role == Role.ADMIN


def test_a_used_link_shows_a_clear_page_and_changes_nothing(client, group, invite):
    path = invite("used@example.com")
    first = UserFactory(email="used@example.com")
    client.force_login(first)
    client.get(path)
    # Opening it again as the same person just goes to the group.
    assert client.get(path)["Location"] == f"/g/{group.slug}/"

    client.force_login(UserFactory(email="later@example.com"))
    response = client.get(path)
    assert response.status_code == 410
    assert "already been used" in response.content.decode()
    assert AuditEntry.objects.filter(action=AuditAction.MEMBER_JOINED).count() == 1


def test_a_revoked_link_shows_a_clear_page(client, group, admin_user, invite):
    path = invite("revoked@example.com")
    services.revoke_invitation(group, admin_user, Invitation.objects.get().pk)
    client.force_login(UserFactory(email="revoked@example.com"))
    response = client.get(path)
    assert response.status_code == 410
    assert "This invitation was withdrawn" in response.content.decode()
    assert Membership.objects.filter(group=group).count() == 1


def test_an_expired_link_shows_a_clear_page(client, group, invite):
    path = invite("expired@example.com")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    client.force_login(UserFactory(email="expired@example.com"))
    response = client.get(path)
    assert response.status_code == 410
    assert "This invitation has expired" in response.content.decode()
    assert Membership.objects.filter(group=group).count() == 1


def test_an_anonymous_visitor_also_sees_the_expired_page(client, invite):
    path = invite("expired@example.com")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.get(path)
    assert response.status_code == 410
    assert "Create an account" not in response.content.decode()


def test_an_unknown_or_replaced_link_is_not_valid(
    client, group, admin_user, invite, django_capture_on_commit_callbacks
):
    path = invite("replaced@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.resend_invitation(group, admin_user, Invitation.objects.get().pk)
    client.force_login(UserFactory(email="replaced@example.com"))
    for url in (path, "/invitations/not-a-real-token/"):
        response = client.get(url)
        assert response.status_code == 404
        assert "This invitation link is not valid" in response.content.decode()
    assert Membership.objects.filter(group=group).count() == 1


def test_an_existing_member_following_a_link_goes_to_the_group(
    client, group, invite, member_user
):
    path = invite("alias@example.com")
    # The address became a second, verified address of a member afterwards.
    EmailAddress.objects.create(
        user=member_user, email="alias@example.com", verified=True
    )
    client.force_login(member_user)
    response = client.get(path, follow=True)
    assert response.redirect_chain[-1][0] == f"/g/{group.slug}/"
    assert "You are already a member" in response.content.decode()
    assert Membership.objects.filter(group=group, user=member_user).count() == 1
