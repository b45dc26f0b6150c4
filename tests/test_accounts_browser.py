import re

import pytest
from django.core import mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_verify_email_and_land_on_group_creation(live_server, page):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("#id_email", "newcomer@example.com")
    page.fill("#id_password1", "a-long-test-password-1")
    page.fill("#id_password2", "a-long-test-password-1")
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))

    path = re.search(r"/accounts/confirm-email/[^/\s]+/", mail.outbox[-1].body).group(0)
    page.goto(live_server.url + path)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/groups/new/$"))
    assert page.get_by_role("heading", name="Create an API group").is_visible()


def test_wrong_password_is_refused_with_a_message(live_server, page, admin_user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_login", admin_user.email)
    page.fill("#id_password", "not-the-password")
    page.get_by_role("button", name="Sign In").click()
    assert page.get_by_text("not correct").is_visible()
