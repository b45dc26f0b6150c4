"""Automatic top-up, low-balance and keys-blocked alerts."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from billing import tasks
from billing.ledger import debit_usage, get_balance
from billing.models import (
    AutoTopUp,
    BillingNotice,
    LedgerEntry,
    LedgerKind,
    NoticeKind,
    Payment,
    PaymentKind,
    PaymentStatus,
)
from billing.payments import start_auto_top_up
from billing.services import grant_credits, update_auto_top_up
from groups.models import AuditAction, AuditEntry, Role
from portal.money import to_micros
from tests.factories import ApiKeyFactory, GroupFactory, MembershipFactory
from tests.stripe_fixtures import CHARGE_DECLINED_CARD, add_card, payment_intents_of
from usage.models import UsageEvent


def _call(key, cost: str, request_id: str) -> UsageEvent:
    micros = to_micros(cost)
    return UsageEvent(
        group_id=key.group_id,
        api_key=key,
        model="sonar",
        request_id=request_id,
        input_cost_micros=micros,
        cost_micros=micros,
    )


def _enable(group, user, threshold="5", amount="20", cap="100"):
    return update_auto_top_up(
        group,
        user,
        enabled=True,
        threshold_micros=to_micros(threshold),
        amount_micros=to_micros(amount),
        monthly_cap_micros=to_micros(cap),
    )


def _subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


@pytest.mark.django_db
def test_crossing_the_threshold_tops_up_once_and_emails_once(
    stripe_base, group, admin_user, django_capture_on_commit_callbacks
):
    add_card(group, admin_user)
    _enable(group, admin_user)
    grant_credits(group, to_micros("6"), "start")
    key = ApiKeyFactory(group=group)

    with django_capture_on_commit_callbacks(execute=True):
        debit_usage(_call(key, "2", "r1"))
    with django_capture_on_commit_callbacks(execute=True):
        debit_usage(_call(key, "1", "r2"))

    payment = Payment.objects.get()
    assert (payment.kind, payment.status) == (PaymentKind.AUTO_TOP_UP, "succeeded")
    assert get_balance(group.pk) == to_micros("23")
    entry = LedgerEntry.objects.get(kind=LedgerKind.AUTO_TOP_UP)
    assert (entry.payment, entry.actor_label) == (payment, "auto top-up")
    customer = group.billing_account.stripe_customer_id
    assert len(payment_intents_of(stripe_base, customer)) == 1
    assert [s for s in _subjects() if "Low balance" in s] == [
        f"[API Portal] Low balance in {group.name}: $4.00"
    ]
    assert mail.outbox[0].to == [admin_user.email]


@pytest.mark.django_db
def test_low_balance_email_once_per_crossing_not_per_call(
    group, admin_user, django_capture_on_commit_callbacks
):
    grant_credits(group, to_micros("6"), "start")
    key = ApiKeyFactory(group=group)

    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            debit_usage(_call(key, "0.5", f"a{n}"))
    assert len([s for s in _subjects() if "Low balance" in s]) == 1

    with django_capture_on_commit_callbacks(execute=True):
        grant_credits(group, to_micros("10"), "back above")
        debit_usage(_call(key, "10", "b1"))
    assert len([s for s in _subjects() if "Low balance" in s]) == 2


@pytest.mark.django_db
def test_exhaustion_emails_admins_once_until_credits_return(
    group, admin_user, member_user, django_capture_on_commit_callbacks
):
    grant_credits(group, to_micros("1"), "start")
    key = ApiKeyFactory(group=group)

    with django_capture_on_commit_callbacks(execute=True):
        debit_usage(_call(key, "0.6", "c1"))
        debit_usage(_call(key, "0.6", "c2"))  # crosses zero
        debit_usage(_call(key, "0.6", "c3"))  # already blocked
    blocked = [m for m in mail.outbox if "Keys blocked" in m.subject]
    assert len(blocked) == 1
    assert blocked[0].to == [admin_user.email]
    assert "402" in blocked[0].body

    with django_capture_on_commit_callbacks(execute=True):
        grant_credits(group, to_micros("1"), "credits return")
        debit_usage(_call(key, "5", "c4"))
    assert len([m for m in mail.outbox if "Keys blocked" in m.subject]) == 2


@pytest.mark.django_db
def test_a_notice_is_sent_at_most_once(group, admin_user):
    notice = BillingNotice.objects.create(
        group=group, kind=NoticeKind.LOW_BALANCE, dedupe_key="low_balance:test"
    )
    tasks.send_notice(notice.pk)
    tasks.send_notice(notice.pk)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_three_failed_charges_turn_auto_top_up_off_for_good(
    stripe_base, group, admin_user, django_capture_on_commit_callbacks
):
    add_card(group, admin_user, CHARGE_DECLINED_CARD)
    _enable(group, admin_user)

    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            start_auto_top_up(group.pk)
        # The next attempt comes from a later sweep, once the retry pause is over.
        assert start_auto_top_up(group.pk) is None
        AutoTopUp.objects.update(last_failure_at=timezone.now() - timedelta(hours=2))

    top_up = AutoTopUp.objects.get(pk=group.pk)
    assert not top_up.enabled
    assert top_up.consecutive_failures == 3
    assert "3 failed charges in a row" in top_up.disabled_reason
    assert Payment.objects.filter(status=PaymentStatus.FAILED).count() == 3
    assert (
        _subjects().count(f"[API Portal] Automatic top-up failed for {group.name}") == 3
    )
    assert (
        _subjects().count(f"[API Portal] Automatic top-up turned off for {group.name}")
        == 1
    )
    assert AuditEntry.objects.filter(
        group=group, action=AuditAction.AUTO_TOP_UP_DISABLED
    ).exists()

    # It never turns itself back on: not by the sweep, not by credits arriving.
    tasks.sweep_auto_top_ups()
    grant_credits(group, to_micros("1"), "goodwill")
    assert start_auto_top_up(group.pk) is None
    assert Payment.objects.count() == 3
    assert not AutoTopUp.objects.get(pk=group.pk).enabled


@pytest.mark.django_db
def test_turning_top_up_on_again_clears_the_failures(stripe_base, group, admin_user):
    add_card(group, admin_user)
    AutoTopUp.objects.create(
        group=group, enabled=False, consecutive_failures=3, disabled_reason="x"
    )
    top_up = _enable(group, admin_user)
    assert (top_up.consecutive_failures, top_up.disabled_reason) == (0, "")


@pytest.mark.django_db
def test_monthly_cap_stops_further_top_ups(stripe_base, group, admin_user):
    add_card(group, admin_user)
    _enable(group, admin_user, threshold="50", amount="20", cap="30")

    first = start_auto_top_up(group.pk)
    second = start_auto_top_up(group.pk)

    assert first.status == PaymentStatus.PENDING or first.pk
    assert second is None
    assert Payment.objects.count() == 1
    assert get_balance(group.pk) == to_micros("20")


@pytest.mark.django_db
def test_sweep_tops_up_a_group_left_below_its_threshold(stripe_base, group, admin_user):
    add_card(group, admin_user)
    AutoTopUp.objects.create(group=group, enabled=True)

    tasks.sweep_auto_top_ups()
    tasks.sweep_auto_top_ups()

    assert get_balance(group.pk) == to_micros("20")
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED


@pytest.mark.django_db
def test_no_top_up_while_above_threshold_or_switched_off(
    stripe_base, group, admin_user
):
    add_card(group, admin_user)
    AutoTopUp.objects.create(group=group, enabled=False)
    assert start_auto_top_up(group.pk) is None
    _enable(group, admin_user, threshold="5")
    grant_credits(group, to_micros("5"), "exactly at threshold")
    assert start_auto_top_up(group.pk) is None
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_enabling_needs_a_card(group, admin_user):
    from billing.services import BillingError

    with pytest.raises(BillingError, match="Add a card"):
        _enable(group, admin_user)
    assert not AutoTopUp.objects.filter(enabled=True).exists()


def _start_all_at_once(group_id: int, callers: int) -> None:
    barrier = threading.Barrier(callers)
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait()
            start_auto_top_up(group_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=start) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_twenty_parallel_crossings_make_exactly_one_charge(
    postgres, stripe_base, round_
):
    group = GroupFactory()
    admin = MembershipFactory(group=group, role=Role.ADMIN).user
    add_card(group, admin)
    AutoTopUp.objects.create(
        group=group,
        enabled=True,
        threshold_micros=to_micros("5"),
        amount_micros=to_micros("20"),
    )

    _start_all_at_once(group.pk, 20)

    customer = group.billing_account.stripe_customer_id
    assert len(payment_intents_of(stripe_base, customer)) == 1
    assert Payment.objects.filter(group=group).count() == 1
    assert LedgerEntry.objects.filter(group=group).count() == 1
    assert get_balance(group.pk) == to_micros("20")
