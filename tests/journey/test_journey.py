"""The whole journey, the way its users meet it: in headless Chromium and with the
official `openai` client, against the production-like stack (gunicorn with two
workers, two Celery worker processes and beat, PostgreSQL, Redis, localstripe).

Screenshots of the main pages land in $PLAYWRIGHT_SCREENSHOTS (var/screenshots/).
"""

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openai
import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Sum
from pypdf import PdfReader

from apikeys.models import ApiKey
from billing.models import BillingAccount, LedgerEntry, LedgerKind
from invoices.models import Invoice
from portal.money import format_money, to_micros
from tests.journey.stack import body_of
from tests.stripe_fixtures import DECLINED_CARD, GOOD_CARD
from usage.models import UsageEvent
from usage.templatetags.usage_format import format_cost

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

PASSWORD = "a-long-journey-password-7"
ADMIN_EMAIL = "ada@example.com"
TEAMMATE_EMAIL = "tom@example.com"


def _shot(page, directory, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}.png"))


def _section(page, name: str) -> None:
    page.get_by_role("navigation", name="Group sections").get_by_role(
        "link", name=name, exact=True
    ).click()


def _balance_micros(slug: str) -> int:
    return BillingAccount.objects.get(group__slug=slug).balance_micros


def _ledger_count(slug: str, kind: str) -> int:
    return LedgerEntry.objects.filter(group__slug=slug, kind=kind).count()


def _wait_until(condition, timeout: float = 45, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def _cost_of(usage) -> Decimal:
    """The exact total cost the API reported (six decimals survive a float)."""
    cost = usage.cost if hasattr(usage, "cost") else usage.model_extra["cost"]
    return Decimal(str(cost["total_cost"]))


# -- the steps -------------------------------------------------------------------


def sign_up_and_create_group(stack, page, shots) -> str:
    page.goto(f"{stack.url}/accounts/signup/")
    page.fill("#id_email", ADMIN_EMAIL)
    page.fill("#id_name", "Ada Admin")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))

    message = stack.wait_for_message(ADMIN_EMAIL, "Confirm")
    path = re.search(r"/accounts/confirm-email/[^/\s]+/", body_of(message)).group(0)
    page.goto(stack.url + path)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/groups/new/$"))

    page.fill("#id_name", "Journey Analytics")
    page.get_by_role("button", name="Create group").click()
    page.wait_for_url(re.compile(r"/g/[\w-]+/settings/$"))
    slug = page.url.rstrip("/").split("/")[-2]
    page.fill("#id_address_line1", "12 Harbour Road")
    page.fill("#id_city", "Dublin")
    page.fill("#id_postal_code", "D02 XY45")
    page.select_option("#id_country", "IE")
    page.fill("#id_tax_id", "IE1234567T")
    page.get_by_role("button", name="Save settings").click()
    assert page.get_by_text("Settings saved.").is_visible()
    _shot(page, shots, "settings")
    return slug


def _type_card(page, number: str) -> None:
    element = page.locator("#card-element")
    element.get_by_placeholder("number").fill(number)
    element.get_by_placeholder("exp_month").fill("12")
    element.get_by_placeholder("exp_year").fill("34")
    element.get_by_placeholder("cvc").fill("123")
    element.get_by_placeholder("postal_code").fill("94105")


def buy(page, amount: str) -> None:
    page.get_by_label(re.compile(r"^Amount \(USD\)")).fill(amount)
    page.get_by_role("button", name="Buy credits").click()
    page.get_by_text(f"${Decimal(amount):.2f} of credits added").wait_for()


def set_auto_top_up(page, on: bool) -> None:
    checkbox = page.get_by_label("Automatic top-up on")
    if on:
        checkbox.check()
        page.get_by_label("When the balance falls below (USD)").fill("4.90")
        page.get_by_label("Add this amount (USD)").fill("5")
        page.get_by_label("At most this much per month (USD)").fill("50")
    else:
        checkbox.uncheck()
    page.get_by_role("button", name="Save automatic top-up").click()
    assert page.get_by_test_id("top-up-state").inner_text() == ("on" if on else "off")


def add_card_buy_credits_and_turn_on_top_up(stack, page, slug: str) -> None:
    billing = f"{stack.url}/g/{slug}/billing/"
    _section(page, "Billing")
    page.get_by_role("link", name="Add a card").click()
    _type_card(page, DECLINED_CARD)
    page.get_by_role("button", name="Save card").click()
    page.locator("#card-errors").filter(has_text="declined").wait_for()
    assert "Nothing was saved." in page.locator("#card-errors").inner_text()

    _type_card(page, GOOD_CARD)
    page.get_by_role("button", name="Save card").click()
    page.wait_for_url(billing)
    assert page.get_by_text("Visa •••• 4242 added.").is_visible()

    buy(page, "5")
    assert page.get_by_test_id("balance").inner_text() == "$5.00"
    set_auto_top_up(page, on=True)
    assert _balance_micros(slug) == 5_000_000


def create_key(page, name: str, shots=None) -> str:
    _section(page, "API Keys")
    page.get_by_role("link", name="Create key").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-api-key").inner_text().strip()
    assert page.get_by_role("button", name="Copy").is_visible()
    if shots is not None:
        _shot(page, shots, "key-created")
    assert secret.endswith(ApiKey.objects.get(name=name).last_four)
    return secret


def invite_teammate_who_sees_usage_only(stack, page, chromium, slug, shots) -> None:
    _section(page, "Members")
    page.fill("#id_email", TEAMMATE_EMAIL)
    page.select_option("#id_role", "member")
    page.get_by_role("button", name="Invite", exact=True).click()
    assert page.get_by_text(f"Invitation sent to {TEAMMATE_EMAIL}").is_visible()
    _shot(page, shots, "members")

    message = stack.wait_for_message(TEAMMATE_EMAIL, "")
    invitation = re.search(r"/invitations/[^/\s]+/", body_of(message)).group(0)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        teammate = context.new_page()
        teammate.goto(stack.url + invitation)
        teammate.get_by_role("link", name="Create an account and join").click()
        assert teammate.input_value("#id_email") == TEAMMATE_EMAIL
        teammate.fill("#id_name", "Tom Teammate")
        teammate.fill("#id_password1", PASSWORD)
        teammate.fill("#id_password2", PASSWORD)
        teammate.get_by_role("button", name="Sign Up").click()
        teammate.wait_for_url(f"{stack.url}/g/{slug}/")
        assert teammate.get_by_text("Your role: Member").is_visible()

        _section(teammate, "Usage")
        assert teammate.get_by_role("heading", name="Usage").is_visible()
        nav = teammate.get_by_role("navigation", name="Group sections")
        assert nav.get_by_role("link", name="Billing").count() == 0
        _section(teammate, "API Keys")
        assert teammate.get_by_role("link", name="Create key").count() == 0
        assert teammate.get_by_role("button", name="Revoke").count() == 0
        for admin_page in ("billing/", "invoices/", "keys/new/", "members/invite/"):
            response = teammate.goto(f"{stack.url}/g/{slug}/{admin_page}")
            assert response.status == 403, admin_page
    finally:
        context.close()


def call_two_models_plain_and_streamed(client) -> Decimal:
    total = Decimal(0)
    for model in ("sonar", "sonar-pro"):
        completion = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "What is a prepaid credit?"}],
            max_tokens=40,
        )
        assert completion.choices[0].message.content
        total += _cost_of(completion.usage)

        stream = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Stream me an answer."}],
            max_tokens=24,
            stream=True,
            extra_body={"web_search_options": {"search_context_size": "medium"}},
        )
        chunks = list(stream)
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        total += _cost_of(chunks[-1].usage)
    return total


def see_the_calls_on_the_usage_page(page, slug, calls: int, cost: Decimal, shots):
    _section(page, "Usage")
    assert page.locator("#total-calls").inner_text() == str(calls)
    assert page.locator("#total-cost").inner_text() == format_cost(to_micros(cost))
    _shot(page, shots, "usage")


def spend_across_the_threshold(client, slug: str) -> None:
    def call() -> None:
        client.chat.completions.create(
            model="sonar-pro",
            messages=[{"role": "user", "content": "A longer answer, please."}],
            max_tokens=5000,
        )

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _wait_until(
        lambda: _ledger_count(slug, LedgerKind.AUTO_TOP_UP) == 1,
        what="the automatic top-up",
    )
    time.sleep(3)  # Give a second, wrongful top-up every chance to appear.
    top_ups = LedgerEntry.objects.filter(group__slug=slug, kind=LedgerKind.AUTO_TOP_UP)
    assert [entry.amount_micros for entry in top_ups] == [5_000_000]


def spend_everything(client) -> int:
    """Call until the API refuses for want of credits; return the calls made."""
    for made in range(60):
        try:
            client.chat.completions.create(
                model="sonar-pro",
                messages=[{"role": "user", "content": "Spend it."}],
                max_tokens=60_000,
            )
        except openai.APIStatusError as refused:
            assert refused.status_code == 402
            assert refused.body["code"] == "insufficient_credits"
            return made
    raise AssertionError("the balance never ran out")


def issue_and_open_the_invoice(stack, page, slug, keys: list[str], shots) -> None:
    now = datetime.now(UTC)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    # The operator runs the job once the month has ended.
    with time_machine.travel(next_month + timedelta(hours=1), tick=False):
        call_command("generate_invoices", period=f"{month_start:%Y-%m}")
        call_command("generate_invoices", period=f"{month_start:%Y-%m}")
    invoice = Invoice.objects.get(group__slug=slug)
    usage_debits = -LedgerEntry.objects.filter(
        group__slug=slug, kind=LedgerKind.USAGE
    ).aggregate(total=Sum("amount_micros"))["total"]
    assert invoice.total_micros == usage_debits

    _section(page, "Invoices")
    _shot(page, shots, "invoices")
    page.get_by_role("link", name=invoice.number, exact=True).click()
    for last_four in keys:
        assert page.get_by_role("link", name=f"sonar-pro ({last_four})").is_visible()
    _shot(page, shots, "invoice")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    text = "".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert invoice.number in text
    for last_four in keys:
        assert f"sonar-pro ({last_four})" in text


# -- the journey -----------------------------------------------------------------


def test_the_whole_journey(stack, page, chromium, screenshot_dir):
    shots = screenshot_dir
    page.on("dialog", lambda dialog: dialog.accept())

    # 1. Sign up, verify, create the group and fill in its details.
    slug = sign_up_and_create_group(stack, page, shots)

    # 2. A declined card fails cleanly; a good one buys credits; auto top-up on.
    add_card_buy_credits_and_turn_on_top_up(stack, page, slug)

    # 3. An API key, copied from its one-time display.
    secret = create_key(page, "production", shots)
    first_key = ApiKey.objects.get(name="production")

    # 4. A teammate joins as Member and sees usage but no admin actions.
    invite_teammate_who_sees_usage_only(stack, page, chromium, slug, shots)

    # 5. The official openai client: plain and streamed calls to two models.
    client = openai.OpenAI(api_key=secret, base_url=f"{stack.url}/v1", max_retries=0)
    before = _balance_micros(slug)
    cost = call_two_models_plain_and_streamed(client)
    assert before - _balance_micros(slug) == to_micros(cost)
    events = UsageEvent.objects.filter(group__slug=slug)
    assert events.aggregate(total=Sum("cost_micros"))["total"] == to_micros(cost)
    see_the_calls_on_the_usage_page(page, slug, 4, cost, shots)

    # 6. Spending crosses the top-up threshold: exactly one top-up.
    spend_across_the_threshold(client, slug)

    # 7. A revoked key gets 401; out of credits a new key gets 402 until credits
    #    are bought.
    _section(page, "API Keys")
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text("revoked").first.wait_for()
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    _section(page, "Billing")
    set_auto_top_up(page, on=False)
    second_secret = create_key(page, "batch")
    second_key = ApiKey.objects.get(name="batch")
    second = openai.OpenAI(
        api_key=second_secret, base_url=f"{stack.url}/v1", max_retries=0
    )
    assert spend_everything(second) > 0
    assert _balance_micros(slug) <= 0
    _section(page, "Billing")
    buy(page, "5")
    answer = second.chat.completions.create(
        model="sonar", messages=[{"role": "user", "content": "Back?"}]
    )
    assert answer.choices[0].message.content
    page.reload()
    _shot(page, shots, "billing")
    assert page.get_by_test_id("balance").inner_text() == format_money(
        _balance_micros(slug)
    )

    # 8. The month's invoice names each key's last four characters; its PDF opens.
    issue_and_open_the_invoice(
        stack, page, slug, [first_key.last_four, second_key.last_four], shots
    )

    # The pages people look at, for the README.
    for section, name in (
        ("Overview", "overview"),
        ("Limits", "limits"),
        ("API Keys", "keys"),
        ("Activity", "activity"),
    ):
        _section(page, section)
        _shot(page, shots, name)
