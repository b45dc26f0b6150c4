"""In a real browser against localstripe: add a card (a declined one first), buy
credits, turn on automatic top-up, spend past the threshold, see one top-up; and
buy credits on a card whose bank asks for a check, passing it and failing it."""

import re
import time

import pytest

from billing.ledger import debit_usage, has_credits
from billing.models import (
    LedgerEntry,
    LedgerKind,
    Payment,
    PaymentMethod,
    StripeEvent,
)
from portal.money import to_micros
from tests.factories import DEFAULT_PASSWORD, ApiKeyFactory
from tests.stripe_fixtures import (
    AUTH_REQUIRED_CARD,
    DECLINED_CARD,
    GOOD_CARD,
    point_webhooks_at,
)
from usage.models import UsageEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def spend(key, amount: str, request_id: str) -> None:
    """What the metered API does at the end of a call."""
    debit_usage(
        UsageEvent(
            group_id=key.group_id,
            api_key=key,
            model="sonar-pro",
            request_id=request_id,
            input_cost_micros=to_micros(amount),
            cost_micros=to_micros(amount),
        )
    )


def _wait_for_event(event_type: str) -> bool:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if StripeEvent.objects.filter(type=event_type).exists():
            return True
        time.sleep(0.2)
    return False


def _log_in(page, base: str, user) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", user.email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(re.compile(r"/g/"))


def _type_card(page, number: str) -> None:
    element = page.locator("#card-element")
    element.get_by_placeholder("number").fill(number)
    element.get_by_placeholder("exp_month").fill("12")
    element.get_by_placeholder("exp_year").fill("34")
    element.get_by_placeholder("cvc").fill("123")
    element.get_by_placeholder("postal_code").fill("94105")


def test_card_credits_and_auto_top_up_in_a_browser(
    live_server, page, stripe_base, group, admin_user, screenshot_dir
):
    point_webhooks_at(stripe_base, f"{live_server.url}/stripe/webhook/")
    billing = f"{live_server.url}/g/{group.slug}/billing/"
    _log_in(page, live_server.url, admin_user)
    page.goto(billing)
    assert page.get_by_test_id("balance").inner_text() == "$0.00"

    # A declined card fails cleanly: a clear message, nothing stored.
    page.get_by_role("link", name="Add a card").click()
    _type_card(page, DECLINED_CARD)
    page.get_by_role("button", name="Save card").click()
    error = page.locator("#card-errors")
    error.filter(has_text="declined").wait_for()
    assert "Nothing was saved." in error.inner_text()
    assert not PaymentMethod.objects.exists()

    # Then a good card, on the same page.
    _type_card(page, GOOD_CARD)
    page.get_by_role("button", name="Save card").click()
    page.wait_for_url(billing)
    assert page.get_by_text("Visa •••• 4242 added.").is_visible()
    assert page.get_by_text("expires 12/2034").is_visible()

    # Buy credits.
    page.get_by_label(re.compile(r"^Amount \(USD\)")).fill("25")
    page.get_by_role("button", name="Buy credits").click()
    page.wait_for_url(billing)
    assert page.get_by_text("$25.00 of credits added").is_visible()
    assert page.get_by_test_id("balance").inner_text() == "$25.00"
    # localstripe's own signed webhook arrives too, verifies, and credits nothing.
    assert _wait_for_event("payment_intent.succeeded")
    assert LedgerEntry.objects.filter(kind=LedgerKind.PURCHASE).count() == 1

    # Turn on automatic top-up.
    page.get_by_label("Automatic top-up on").check()
    page.get_by_label("When the balance falls below (USD)").fill("5")
    page.get_by_label("Add this amount (USD)").fill("20")
    page.get_by_label("At most this much per month (USD)").fill("100")
    page.get_by_role("button", name="Save automatic top-up").click()
    page.wait_for_url(billing)
    assert page.get_by_test_id("top-up-state").inner_text() == "on"

    # Spend past the threshold: exactly one top-up.
    key = ApiKeyFactory(group=group)
    for n in range(3):
        spend(key, "7", f"browser-{n}")
    page.goto(billing)
    assert page.get_by_test_id("balance").inner_text() == "$24.00"
    assert LedgerEntry.objects.filter(kind=LedgerKind.AUTO_TOP_UP).count() == 1
    assert Payment.objects.count() == 2
    page.screenshot(path=str(screenshot_dir / "billing.png"), full_page=True)

    # Without top-up and without the card, spending to zero blocks the keys...
    page.get_by_label("Automatic top-up on").uncheck()
    page.get_by_role("button", name="Save automatic top-up").click()
    page.wait_for_url(billing)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove Visa •••• 4242").click()
    page.wait_for_url(billing)
    assert page.get_by_text("Card removed.").is_visible()
    spend(key, "24", "browser-empty")
    assert not has_credits(group.pk)
    page.goto(billing)
    assert page.get_by_text("Keys blocked: out of credits").is_visible()

    # ...and buying credits unblocks them at once.
    page.get_by_role("link", name="Add a card").click()
    _type_card(page, GOOD_CARD)
    page.get_by_role("button", name="Save card").click()
    page.wait_for_url(billing)
    page.get_by_label(re.compile(r"^Amount \(USD\)")).fill("10")
    page.get_by_role("button", name="Buy credits").click()
    page.wait_for_url(billing)
    assert page.get_by_test_id("balance").inner_text() == "$10.00"
    assert has_credits(group.pk)


def test_purchase_with_the_banks_check_in_a_browser(
    live_server, page, stripe_base, group, admin_user, screenshot_dir
):
    point_webhooks_at(stripe_base, f"{live_server.url}/stripe/webhook/")
    billing = f"{live_server.url}/g/{group.slug}/billing/"
    _log_in(page, live_server.url, admin_user)

    # The card's own check, when it is added.
    page.goto(billing)
    page.get_by_role("link", name="Add a card").click()
    _type_card(page, AUTH_REQUIRED_CARD)
    page.get_by_role("button", name="Save card").click()
    page.get_by_role("button", name="Complete authentication").click()
    page.wait_for_url(billing)
    assert page.get_by_text("Visa •••• 3155 added.").is_visible()

    # Buying sends the admin to the bank's check; passing it adds the credits.
    page.get_by_label(re.compile(r"^Amount \(USD\)")).fill("6")
    page.get_by_role("button", name="Buy credits").click()
    page.wait_for_url(re.compile(r"/payments/\d+/authenticate/$"))
    assert page.get_by_role("heading", name="Confirm your payment").is_visible()
    page.screenshot(path=str(screenshot_dir / "bank-check.png"), full_page=True)
    page.get_by_role("button", name="Complete authentication").click()
    page.wait_for_url(billing)
    assert page.get_by_text("$6.00 of credits added").is_visible()
    assert page.get_by_test_id("balance").inner_text() == "$6.00"
    # localstripe's webhook for the same charge arrives too and credits nothing.
    assert _wait_for_event("payment_intent.succeeded")
    assert LedgerEntry.objects.filter(kind=LedgerKind.PURCHASE).count() == 1

    # Failing the check charges nothing and says so.
    page.get_by_label(re.compile(r"^Amount \(USD\)")).fill("7")
    page.get_by_role("button", name="Buy credits").click()
    page.wait_for_url(re.compile(r"/payments/\d+/authenticate/$"))
    page.get_by_role("button", name="Fail authentication").click()
    page.wait_for_url(billing)
    flash = page.locator(".flash-error")
    assert "Your bank's authentication check failed." in flash.inner_text()
    assert "Nothing was charged." in flash.inner_text()
    assert page.get_by_test_id("balance").inner_text() == "$6.00"
    assert LedgerEntry.objects.filter(kind=LedgerKind.PURCHASE).count() == 1
    assert Payment.objects.get(amount_micros=to_micros("7")).status == "failed"
