"""Automatic top-up through a real Celery worker and Redis."""

import time

import pytest

from billing.ledger import debit_usage, get_balance
from billing.models import AutoTopUp, BillingNotice, NoticeKind, Payment
from billing.services import grant_credits
from groups.models import Role
from portal.money import to_micros
from tests.factories import ApiKeyFactory, GroupFactory, MembershipFactory
from tests.stripe_fixtures import add_card
from usage.models import UsageEvent

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def _wait_until(condition, seconds: float = 45) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_worker_tops_up_once_and_tells_admins(celery_worker, stripe_base):
    group = GroupFactory()
    admin = MembershipFactory(group=group, role=Role.ADMIN).user
    add_card(group, admin)
    AutoTopUp.objects.create(
        group=group,
        enabled=True,
        threshold_micros=to_micros("5"),
        amount_micros=to_micros("20"),
    )
    grant_credits(group, to_micros("6"), "start")
    key = ApiKeyFactory(group=group)

    # Three calls cross the threshold together: the worker charges once.
    for n in range(3):
        debit_usage(
            UsageEvent(
                group_id=group.pk,
                api_key=key,
                model="sonar",
                request_id=f"worker-{n}",
                input_cost_micros=to_micros("1"),
                cost_micros=to_micros("1"),
            )
        )

    topped_up = _wait_until(lambda: get_balance(group.pk) == to_micros("23"))
    log = celery_worker.read_text()
    assert topped_up, log
    assert "billing.tasks.charge_auto_top_up" in log
    notice_sent = _wait_until(
        lambda: BillingNotice.objects.filter(
            group=group, kind=NoticeKind.LOW_BALANCE, sent_at__isnull=False
        ).exists()
    )
    assert notice_sent, celery_worker.read_text()
    time.sleep(1)  # anything else queued would have run by now
    assert Payment.objects.filter(group=group).count() == 1
