"""Done when: sign up, create a group, fill in its details, invite a member, who
accepts in another browser and sees the group with member rights only."""

import re

import pytest
from django.core import mail

from groups.models import Membership, Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-1"


def _link(pattern: str) -> str:
    return re.search(pattern, mail.outbox[-1].body).group(0)


def _sign_up_and_verify(page, base: str) -> None:
    page.goto(f"{base}/accounts/signup/")
    page.fill("#id_email", "founder@example.com")
    page.fill("#id_name", "Fran Founder")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    page.goto(base + _link(r"/accounts/confirm-email/[^/\s]+/"))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/groups/new/$"))


def _create_group_with_details(page) -> str:
    page.fill("#id_name", "Acme Research")
    page.get_by_role("button", name="Create group").click()
    page.wait_for_url(re.compile(r"/g/[\w-]+/settings/$"))
    slug = page.url.rstrip("/").split("/")[-2]

    page.fill("#id_address_line1", "1 Main Street")
    page.fill("#id_city", "Berlin")
    page.fill("#id_postal_code", "10115")
    page.select_option("#id_country", "DE")
    page.fill("#id_tax_id", "DE123456789")
    page.get_by_role("button", name="Save settings").click()
    assert page.get_by_text("Settings saved.").is_visible()
    assert page.input_value("#id_city") == "Berlin"
    return slug


def _invite(page, email: str) -> None:
    page.get_by_role("navigation", name="Group sections").get_by_role(
        "link", name="Members"
    ).click()
    page.fill("#id_email", email)
    page.select_option("#id_role", "member")
    page.get_by_role("button", name="Invite", exact=True).click()
    assert page.get_by_text(f"Invitation sent to {email} as member.").is_visible()


def test_founder_invites_a_member_who_gets_member_rights_only(
    live_server, page, chromium, screenshot_dir
):
    base = live_server.url
    _sign_up_and_verify(page, base)
    slug = _create_group_with_details(page)
    page.screenshot(path=screenshot_dir / "settings-admin.png", full_page=True)
    _invite(page, "teammate@example.com")
    page.screenshot(path=screenshot_dir / "members-admin.png", full_page=True)
    invitation_path = _link(r"/invitations/[^/\s]+/")

    invitee_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        invitee = invitee_context.new_page()
        invitee.goto(base + invitation_path)
        assert invitee.get_by_role("heading", name="Join Acme Research").is_visible()
        invitee.screenshot(path=screenshot_dir / "invitation-welcome.png")
        invitee.get_by_role("link", name="Create an account and join").click()
        assert invitee.input_value("#id_email") == "teammate@example.com"
        invitee.fill("#id_name", "Tim Teammate")
        invitee.fill("#id_password1", PASSWORD)
        invitee.fill("#id_password2", PASSWORD)
        invitee.get_by_role("button", name="Sign Up").click()

        # No confirmation email: the invitation link proved the address.
        invitee.wait_for_url(f"{base}/g/{slug}/")
        assert invitee.get_by_text("Welcome to Acme Research").is_visible()
        assert invitee.get_by_text("Your role: Member").is_visible()

        invitee.goto(f"{base}/g/{slug}/members/")
        assert invitee.get_by_role("cell", name="Fran Founder").is_visible()
        assert invitee.get_by_role("button", name="Invite").count() == 0
        assert invitee.get_by_role("button", name="Change role").count() == 0
        assert invitee.get_by_role("button", name="Remove").count() == 0
        assert invitee.get_by_role("button", name="Leave group").is_visible()
        invitee.screenshot(path=screenshot_dir / "members-member.png", full_page=True)

        invitee.goto(f"{base}/g/{slug}/settings/")
        assert invitee.get_by_text("1 Main Street").is_visible()
        assert invitee.get_by_role("button", name="Save settings").count() == 0

        for admin_path in ("members/invite/", "activity/"):
            response = invitee.goto(f"{base}/g/{slug}/{admin_path}")
            assert response.status == 403, admin_path
    finally:
        invitee_context.close()

    page.goto(f"{base}/g/{slug}/activity/")
    assert page.get_by_role(
        "cell", name="Member joined: teammate@example.com"
    ).is_visible()
    page.screenshot(path=screenshot_dir / "activity-admin.png", full_page=True)
    membership = Membership.objects.get(
        group__slug=slug, user__email="teammate@example.com"
    )
    assert membership.role == Role.MEMBER
