"""Cards through a SetupIntent against localstripe: stored, never charged."""

import pytest

from billing.models import AutoTopUp, PaymentMethod
from billing.services import (
    BillingError,
    remove_card,
    save_card,
    set_default_card,
    start_card_setup,
)
from billing.stripe_api import PaymentError, client
from groups.models import AuditAction, AuditEntry
from tests.stripe_fixtures import (
    AUTH_REQUIRED_CARD,
    DECLINED_CARD,
    add_card,
    confirm_setup_like_a_browser,
    payment_intents_of,
)

pytestmark = pytest.mark.django_db


def test_good_card_is_stored_with_brand_last_four_and_expiry(
    stripe_base, group, admin_user
):
    card = add_card(group, admin_user)

    assert (card.brand, card.last4, card.expiry) == ("visa", "4242", "12/2034")
    assert card.is_default
    assert card.label == "Visa •••• 4242"
    customer = group.billing_account.stripe_customer_id
    assert payment_intents_of(stripe_base, customer) == []
    stored = client().v1.payment_methods.retrieve(card.stripe_payment_method_id)
    assert stored.customer == customer
    assert AuditEntry.objects.filter(
        group=group, action=AuditAction.CARD_ADDED, actor=admin_user
    ).exists()


def test_stripe_customer_carries_the_organizations_details(
    stripe_base, group, admin_user
):
    group.address_line1 = "1 Main Street"
    group.city = "Lyon"
    group.country = "FR"
    group.tax_id = "FR12345678901"
    group.save()
    add_card(group, admin_user)
    customer_id = group.billing_account.stripe_customer_id

    customer = client().v1.customers.retrieve(customer_id)
    assert customer.name == group.name
    assert customer.address["city"] == "Lyon"
    assert customer.metadata["tax_id"] == "FR12345678901"


def test_changed_details_reach_the_stripe_customer(
    stripe_base, group, admin_user, django_capture_on_commit_callbacks
):
    from groups.services import update_group_details

    add_card(group, admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        update_group_details(group, admin_user, {"name": "Renamed Ltd", "city": "Oslo"})

    customer = client().v1.customers.retrieve(group.billing_account.stripe_customer_id)
    assert customer.name == "Renamed Ltd"
    assert customer.address["city"] == "Oslo"


def test_declined_card_gives_a_clear_message_and_stores_nothing(
    stripe_base, group, admin_user
):
    setup = start_card_setup(group)
    response = confirm_setup_like_a_browser(stripe_base, setup, DECLINED_CARD)
    assert response.json()["error"]["code"] == "card_declined"

    with pytest.raises(PaymentError, match="declined"):
        save_card(group, admin_user, setup.setup_intent_id)
    assert not PaymentMethod.objects.filter(group=group).exists()


def test_expired_card_gives_a_clear_message_and_stores_nothing(
    stripe_base, group, admin_user
):
    setup = start_card_setup(group)
    confirm_setup_like_a_browser(
        stripe_base, setup, "4242424242424242", exp_month="1", exp_year="2020"
    )

    with pytest.raises(PaymentError, match="expired at the end of 01/2020"):
        save_card(group, admin_user, setup.setup_intent_id)
    assert not PaymentMethod.objects.filter(group=group).exists()


def test_card_awaiting_authentication_is_refused(stripe_base, group, admin_user):
    setup = start_card_setup(group)
    response = confirm_setup_like_a_browser(stripe_base, setup, AUTH_REQUIRED_CARD)
    assert response.json()["status"] == "requires_action"

    with pytest.raises(PaymentError, match="authenticate"):
        save_card(group, admin_user, setup.setup_intent_id)
    assert not PaymentMethod.objects.filter(group=group).exists()


def test_another_groups_setup_intent_is_refused(stripe_base, group, admin_user):
    from tests.factories import GroupFactory

    other = GroupFactory()
    setup = start_card_setup(other)
    confirm_setup_like_a_browser(stripe_base, setup, "4242424242424242")

    with pytest.raises(PaymentError, match="another account"):
        save_card(group, admin_user, setup.setup_intent_id)
    assert not PaymentMethod.objects.exists()


def test_saving_the_same_setup_twice_stores_one_card(stripe_base, group, admin_user):
    setup = start_card_setup(group)
    confirm_setup_like_a_browser(stripe_base, setup, "4242424242424242")
    first = save_card(group, admin_user, setup.setup_intent_id)
    second = save_card(group, admin_user, setup.setup_intent_id)
    assert first.pk == second.pk
    assert PaymentMethod.objects.filter(group=group).count() == 1


def test_choose_default_and_only_one_default(stripe_base, group, admin_user):
    first = add_card(group, admin_user)
    second = add_card(group, admin_user, "5555555555554444")
    assert not second.is_default

    set_default_card(group, admin_user, second.pk)

    defaults = PaymentMethod.objects.filter(group=group, is_default=True)
    assert list(defaults.values_list("pk", flat=True)) == [second.pk]
    first.refresh_from_db()
    assert not first.is_default


def test_new_card_can_become_default_when_added(stripe_base, group, admin_user):
    add_card(group, admin_user)
    second = add_card(group, admin_user, "5555555555554444", make_default=True)
    assert second.is_default
    assert PaymentMethod.objects.filter(group=group, is_default=True).count() == 1


def test_card_auto_top_up_relies_on_cannot_be_removed(stripe_base, group, admin_user):
    card = add_card(group, admin_user)
    AutoTopUp.objects.create(group=group, enabled=True)

    with pytest.raises(BillingError, match="Automatic top-up charges this card"):
        remove_card(group, admin_user, card.pk)
    assert PaymentMethod.objects.filter(pk=card.pk).exists()


def test_card_can_be_removed_once_another_is_default(
    stripe_base, group, admin_user, django_capture_on_commit_callbacks
):
    card = add_card(group, admin_user)
    other = add_card(group, admin_user, "5555555555554444")
    AutoTopUp.objects.create(group=group, enabled=True)
    set_default_card(group, admin_user, other.pk)

    with django_capture_on_commit_callbacks(execute=True):
        remove_card(group, admin_user, card.pk)

    assert list(PaymentMethod.objects.filter(group=group)) == [other]
    detached = client().v1.payment_methods.retrieve(card.stripe_payment_method_id)
    assert detached.customer is None
    assert AuditEntry.objects.filter(action=AuditAction.CARD_REMOVED).exists()


def test_removing_the_default_promotes_another_card(stripe_base, group, admin_user):
    card = add_card(group, admin_user)
    other = add_card(group, admin_user, "5555555555554444")

    promoted = remove_card(group, admin_user, card.pk)

    assert promoted == other
    other.refresh_from_db()
    assert other.is_default


def test_a_card_of_another_group_cannot_be_touched(stripe_base, group, admin_user):
    from tests.factories import GroupFactory

    other = GroupFactory()
    foreign = add_card(other, admin_user)
    with pytest.raises(BillingError):
        remove_card(group, admin_user, foreign.pk)
    with pytest.raises(BillingError):
        set_default_card(group, admin_user, foreign.pk)
    assert PaymentMethod.objects.filter(pk=foreign.pk, is_default=True).exists()
