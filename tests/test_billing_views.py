"""The billing pages: admins only; members get 403, outsiders 404."""

import pytest
from django.urls import reverse

from billing.models import AutoTopUp, LedgerEntry, Payment, PaymentMethod
from billing.services import grant_credits
from portal.money import to_micros
from tests.stripe_fixtures import CHARGE_DECLINED_CARD, add_card

pytestmark = pytest.mark.django_db


def _url(group, name, *args):
    return reverse(f"billing:{name}", args=[group.slug, *args])


POSTS = [
    ("buy-credits", (), {"amount": "10"}),
    ("top-up-settings", (), {"threshold": "5", "amount": "20", "monthly_cap": "50"}),
    ("save-card", (), {"setup_intent": "seti_123"}),
    ("card-default", (1,), {}),
    ("card-remove", (1,), {}),
]


def test_admin_sees_balance_cards_top_up_and_history(admin_client, group):
    grant_credits(group, to_micros("25"), "Welcome credits")
    response = admin_client.get(_url(group, "overview"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="balance">$25.00<' in body
    assert "Welcome credits" in body
    assert "Add a card" in body
    assert "Automatic top-up is <strong" in body


def test_member_gets_403_and_outsider_404(member_client, outsider_client, group):
    for client, status in ((member_client, 403), (outsider_client, 404)):
        assert client.get(_url(group, "overview")).status_code == status
        assert client.get(_url(group, "add-card")).status_code == status
        for name, args, data in POSTS:
            assert client.post(_url(group, name, *args), data).status_code == status
    assert not Payment.objects.exists()
    assert not AutoTopUp.objects.exists()


def test_the_billing_page_is_never_served_from_a_cache(admin_client, group):
    # Back after a purchase or a bank's check must show the balance as it is.
    response = admin_client.get(_url(group, "overview"))
    assert "no-store" in response["Cache-Control"]


def test_history_pages_through_entries(admin_client, group):
    for n in range(30):
        grant_credits(group, to_micros("1"), f"grant {n}")
    first = admin_client.get(_url(group, "overview")).content.decode()
    second = admin_client.get(_url(group, "overview") + "?page=2").content.decode()
    assert "grant 29" in first and "grant 0" not in first
    assert "grant 0" in second and "Page 2 of 2" in second


def test_out_of_credits_says_keys_are_blocked(admin_client, group):
    body = admin_client.get(_url(group, "overview")).content.decode()
    assert "Keys blocked: out of credits" in body


def test_buy_credits_with_a_bad_amount_shows_the_error(admin_client, group, admin_user):
    PaymentMethod.objects.create(
        group=group,
        stripe_payment_method_id="pm_x",
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=2034,
        is_default=True,
    )
    response = admin_client.post(_url(group, "buy-credits"), {"amount": "2"})
    assert response.status_code == 400
    assert "Enter an amount between $5 and $10,000." in response.content.decode()
    assert not Payment.objects.exists()


def test_buy_credits_adds_them_and_says_so(
    stripe_base, admin_client, group, admin_user
):
    add_card(group, admin_user)
    response = admin_client.post(
        _url(group, "buy-credits"), {"amount": "12.50"}, follow=True
    )
    body = response.content.decode()
    assert "$12.50 of credits added, charged to Visa •••• 4242." in body
    assert 'data-testid="balance">$12.50<' in body


def test_resubmitting_a_purchase_form_says_so_and_charges_once(
    stripe_base, admin_client, group, admin_user
):
    add_card(group, admin_user)
    form = {"amount": "9.00", "form_token": "d" * 32}
    admin_client.post(_url(group, "buy-credits"), form)
    response = admin_client.post(_url(group, "buy-credits"), form, follow=True)
    assert "That purchase of $9.00 was already made" in response.content.decode()
    assert Payment.objects.filter(group=group).count() == 1
    assert 'data-testid="balance">$9.00<' in response.content.decode()


def test_declined_purchase_says_nothing_was_charged(
    stripe_base, admin_client, group, admin_user
):
    add_card(group, admin_user, CHARGE_DECLINED_CARD)
    response = admin_client.post(
        _url(group, "buy-credits"), {"amount": "10"}, follow=True
    )
    body = response.content.decode()
    assert "Your card was declined" in body and "Nothing was charged." in body
    assert not LedgerEntry.objects.exists()


def test_add_card_page_opens_a_setup_intent(stripe_base, admin_client, group):
    response = admin_client.get(_url(group, "add-card"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-client-secret="seti_' in body
    assert f"{stripe_base}/js.stripe.com/v3/" in body


def test_saving_an_unconfirmed_setup_stores_nothing(stripe_base, admin_client, group):
    from billing.services import start_card_setup

    setup = start_card_setup(group)
    response = admin_client.post(
        _url(group, "save-card"), {"setup_intent": setup.setup_intent_id}, follow=True
    )
    assert "Nothing was saved." in response.content.decode()
    assert not PaymentMethod.objects.exists()


def test_top_up_settings_are_saved_and_validated(
    stripe_base, admin_client, group, admin_user
):
    add_card(group, admin_user)
    bad = admin_client.post(
        _url(group, "top-up-settings"),
        {"enabled": "on", "threshold": "5", "amount": "20", "monthly_cap": "10"},
    )
    assert bad.status_code == 400
    assert "The cap must be at least one top-up amount." in bad.content.decode()
    assert not AutoTopUp.objects.filter(enabled=True).exists()

    grant_credits(group, to_micros("50"), "stay above threshold")
    good = admin_client.post(
        _url(group, "top-up-settings"),
        {"enabled": "on", "threshold": "5", "amount": "20", "monthly_cap": "100"},
        follow=True,
    )
    assert "it is on" in good.content.decode()
    top_up = AutoTopUp.objects.get(pk=group.pk)
    assert (top_up.enabled, top_up.amount_micros) == (True, 20_000_000)


def test_page_says_when_top_up_turned_itself_off(admin_client, group):
    AutoTopUp.objects.create(
        group=group,
        enabled=False,
        disabled_reason="Turned off after 3 failed charges in a row.",
    )
    body = admin_client.get(_url(group, "overview")).content.decode()
    assert "Turned off after 3 failed charges in a row." in body


def test_remove_and_default_card_views(stripe_base, admin_client, group, admin_user):
    first = add_card(group, admin_user)
    second = add_card(group, admin_user, "5555555555554444")
    admin_client.post(_url(group, "card-default", second.pk))
    assert PaymentMethod.objects.get(is_default=True) == second
    admin_client.post(_url(group, "card-remove", first.pk))
    assert list(PaymentMethod.objects.all()) == [second]


def test_webhook_refuses_get(client):
    assert client.get(reverse("billing:stripe-webhook")).status_code == 405
