import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from billing.ledger import post_entry
from billing.models import LedgerKind
from groups.models import AuditAction, AuditEntry
from limits.models import GroupLimits, Tier, TierModelLimit
from limits.services import (
    LOCAL_LIMITS_SECONDS,
    forget_group_limits,
    limits_summary,
    raise_tier,
    requests_per_minute,
    set_model_limit,
    set_override_tier,
)
from portal.money import to_micros
from tests.seeded_tiers import ensure_seeded_tiers


@pytest.fixture(autouse=True)
def _tiers(db):
    ensure_seeded_tiers()


def _buy(group, dollars: str) -> None:
    post_entry(group.pk, LedgerKind.PURCHASE, to_micros(dollars))


def _tier(group) -> int:
    return limits_summary(group.pk).tier.number


def test_seeded_tiers_match_the_product(db):
    thresholds = list(
        Tier.objects.order_by("number").values_list("number", "min_purchased_micros")
    )
    assert thresholds == [
        (0, 0),
        (1, 50_000_000),
        (2, 250_000_000),
        (3, 500_000_000),
        (4, 1_000_000_000),
        (5, 5_000_000_000),
    ]
    deep = TierModelLimit.objects.filter(model="sonar-deep-research")
    assert list(
        deep.order_by("tier__number").values_list("requests_per_minute", flat=True)
    ) == [
        5,
        10,
        20,
        40,
        60,
        100,
    ]
    sonar = TierModelLimit.objects.filter(model="sonar").order_by("tier__number")
    assert list(sonar.values_list("requests_per_minute", flat=True)) == [
        50,
        150,
        500,
        1000,
        2000,
        4000,
    ]


def test_new_group_is_in_tier_zero(group):
    assert _tier(group) == 0
    assert requests_per_minute(group.pk, "sonar-pro") == 50
    assert requests_per_minute(group.pk, "sonar-deep-research") == 5


def test_buying_credits_raises_the_tier_and_records_it(
    group, django_capture_on_commit_callbacks
):
    _buy(group, "30")
    assert _tier(group) == 0
    assert requests_per_minute(group.pk, "sonar") == 50  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        _buy(group, "20")
    assert _tier(group) == 1
    assert GroupLimits.objects.get(group=group).reached_tier.number == 1
    entry = AuditEntry.objects.get(group=group, action=AuditAction.LIMITS_CHANGED)
    assert entry.changes == {"tier": [None, 1]}
    assert requests_per_minute(group.pk, "sonar") == 150


def test_grants_do_not_raise_the_tier(group):
    post_entry(group.pk, LedgerKind.GRANT, to_micros("1000"))
    assert _tier(group) == 0


def test_tier_never_falls_when_thresholds_rise(group):
    _buy(group, "260")
    assert _tier(group) == 2
    Tier.objects.filter(number=2).update(min_purchased_micros=to_micros("300"))
    Tier.objects.filter(number=1).update(min_purchased_micros=to_micros("280"))
    raise_tier(group.pk)
    assert _tier(group) == 2


def test_raise_tier_twice_records_once(group):
    _buy(group, "60")
    raise_tier(group.pk)
    raise_tier(group.pk)
    assert (
        AuditEntry.objects.filter(
            group=group, action=AuditAction.LIMITS_CHANGED
        ).count()
        == 1
    )


def test_operator_tier_override_applies_at_once_and_is_audited(
    group, django_capture_on_commit_callbacks
):
    assert requests_per_minute(group.pk, "sonar") == 50  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        set_override_tier(group, Tier.objects.get(number=4), note="enterprise trial")
    assert requests_per_minute(group.pk, "sonar") == 2000
    summary = limits_summary(group.pk)
    assert summary.tier_overridden and summary.tier.number == 4
    assert summary.reached_tier.number == 0
    entry = AuditEntry.objects.get(group=group, action=AuditAction.LIMITS_CHANGED)
    assert entry.changes == {"override_tier": [None, 4]}
    with django_capture_on_commit_callbacks(execute=True):
        set_override_tier(group, None)
    assert requests_per_minute(group.pk, "sonar") == 50


def test_operator_model_limit_overrides_the_tier_for_that_model(
    group, django_capture_on_commit_callbacks
):
    assert requests_per_minute(group.pk, "sonar-pro") == 50  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        set_model_limit(group, "sonar-pro", 7)
    assert requests_per_minute(group.pk, "sonar-pro") == 7
    assert requests_per_minute(group.pk, "sonar") == 50
    with django_capture_on_commit_callbacks(execute=True):
        set_model_limit(group, "sonar-pro", None)
    assert requests_per_minute(group.pk, "sonar-pro") == 50


def test_unknown_model_gets_the_tiers_default(group):
    assert requests_per_minute(group.pk, "brand-new-model") == 50


def test_limit_lookup_is_cached(group, django_assert_num_queries):
    requests_per_minute(group.pk, "sonar")
    with django_assert_num_queries(0):
        assert requests_per_minute(group.pk, "sonar") == 50
    # Cleared from the shared cache, the process's own copy still answers...
    cache.clear()
    with django_assert_num_queries(0):
        requests_per_minute(group.pk, "sonar")
    # ...until it expires or a change on this process forgets it.
    forget_group_limits(group.pk)
    with django_assert_num_queries(5):
        requests_per_minute(group.pk, "sonar")


def test_a_process_copy_of_the_limits_expires(
    group, django_assert_num_queries, monkeypatch
):
    requests_per_minute(group.pk, "sonar")
    cache.clear()
    later = time.monotonic() + LOCAL_LIMITS_SECONDS + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    with django_assert_num_queries(5):
        requests_per_minute(group.pk, "sonar")


def _limits_url(group):
    return reverse("limits:limits", args=[group.slug])


def test_member_sees_tier_next_tier_limits_and_balance(member_client, group):
    _buy(group, "60")
    response = member_client.get(_limits_url(group))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Tier 1" in content
    assert "$190.00" in content  # to reach tier 2 at $250
    assert "Tier 2" in content
    assert "$60.00" in content  # balance
    assert "sonar-deep-research" in content


def test_admin_sees_limits(admin_client, group):
    assert admin_client.get(_limits_url(group)).status_code == 200


def test_outsider_gets_not_found(outsider_client, group):
    assert outsider_client.get(_limits_url(group)).status_code == 404


def test_overrides_are_shown_as_such(member_client, group):
    set_model_limit(group, "sonar", 999)
    set_override_tier(group, Tier.objects.get(number=3), note="load test")
    content = member_client.get(_limits_url(group)).content.decode()
    assert "Set by the operator" in content
    assert "load test" in content
    assert "999" in content


def test_highest_tier_has_no_next(member_client, group):
    _buy(group, "5000")
    content = member_client.get(_limits_url(group)).content.decode()
    assert "You are in the highest tier" in content


@pytest.mark.django_db(transaction=True)
def test_concurrent_purchases_reach_the_tier_once(postgres, group):
    import threading

    from django.db import connections

    def buy():
        try:
            _buy(group, "30")
        finally:
            connections.close_all()

    for _ in range(3):
        threads = [threading.Thread(target=buy) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert _tier(group) == 2  # $360 bought
    changes = [
        e.changes["tier"]
        for e in AuditEntry.objects.filter(
            group=group, action=AuditAction.LIMITS_CHANGED
        ).order_by("id")
    ]
    assert changes[-1][1] == 2
    numbers = [new for _, new in changes]
    assert numbers == sorted(set(numbers))


@pytest.fixture
def operator_client(db):
    from django.test import Client

    from tests.factories import UserFactory

    operator = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(operator)
    return client


def test_operator_edits_tiers_and_overrides_in_admin(operator_client, group):
    for name in ("tier", "grouplimits", "groupmodellimit"):
        assert operator_client.get(f"/admin/limits/{name}/").status_code == 200
    response = operator_client.post(
        "/admin/limits/groupmodellimit/add/",
        {"group": group.pk, "model": "sonar", "requests_per_minute": 321, "note": "x"},
    )
    assert response.status_code == 302
    assert requests_per_minute(group.pk, "sonar") == 321
    entry = AuditEntry.objects.get(group=group, action=AuditAction.LIMITS_CHANGED)
    assert entry.changes == {"sonar": [None, 321]}
    assert entry.actor_label == "operator"


def test_operator_sets_a_groups_tier_in_admin(operator_client, group):
    response = operator_client.post(
        "/admin/limits/grouplimits/add/",
        {
            "group": group.pk,
            "override_tier": Tier.objects.get(number=5).pk,
            "override_note": "load test",
        },
    )
    assert response.status_code == 302
    assert limits_summary(group.pk).tier.number == 5
