import json
import re
import urllib.request

import pytest

from tests.journey.stack import body_of

pytestmark = pytest.mark.browser


def test_production_stack_serves_pages_and_mail_across_processes(stack, page):
    with urllib.request.urlopen(f"{stack.url}/healthz") as response:  # noqa: S310
        assert json.load(response) == {"status": "ok", "database": "ok", "redis": "ok"}

    page.goto(f"{stack.url}/accounts/signup/")
    page.fill("#id_email", "stack@example.com")
    page.fill("#id_password1", "a-long-test-password-1")
    page.fill("#id_password2", "a-long-test-password-1")
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))

    message = stack.wait_for_message("stack@example.com", "Confirm")
    path = re.search(r"/accounts/confirm-email/[^/\s]+/", body_of(message)).group(0)
    page.goto(stack.url + path)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/groups/new/$"))
