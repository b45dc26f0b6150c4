"""Usage tiers and per-model limits: reading them cheaply, and every change to them.

A group's tier is the highest reached by its credits ever bought, and never falls;
an operator may override it, or set the group's own limit for a model. The API
reads a group's limits on every call, so they are cached briefly (LIMITS_CACHE_
SECONDS): an override or a tier rise clears the group's entry at once; an edit of
the tier table reaches every group within that time.
"""

import logging
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from billing.models import BillingAccount
from groups.models import ApiGroup, AuditAction
from groups.services import record_audit
from limits.models import GroupLimits, GroupModelLimit, Tier, TierModelLimit

logger = logging.getLogger(__name__)

LIMITS_CACHE_SECONDS = 30
# Each process also keeps a group's limits this long, sparing the API a cache read.
LOCAL_LIMITS_SECONDS = 5
_local_limits: dict[int, tuple[float, dict]] = {}
# Used only if the operator deleted every tier: a group is never left unlimited.
FALLBACK_REQUESTS_PER_MINUTE = 50


def _cache_key(group_id: int) -> str:
    return f"limits:group:{group_id}"


@dataclass(frozen=True)
class ModelLimit:
    model: str
    requests_per_minute: int
    overridden: bool  # set by an operator for this group, not by its tier


@dataclass(frozen=True)
class GroupLimitsSummary:
    """What the limits page shows."""

    tier: Tier | None
    reached_tier: Tier | None
    tier_overridden: bool
    override_note: str
    limits: list[ModelLimit]
    default_requests_per_minute: int
    purchased_micros: int
    balance_micros: int
    next_tier: Tier | None
    next_tier_limits: list[ModelLimit]

    @property
    def needed_for_next_micros(self) -> int:
        if self.next_tier is None:
            return 0
        return max(0, self.next_tier.min_purchased_micros - self.purchased_micros)

    @property
    def has_overrides(self) -> bool:
        return self.tier_overridden or any(limit.overridden for limit in self.limits)


def tier_for_purchased(purchased_micros: int) -> Tier | None:
    return (
        Tier.objects.filter(min_purchased_micros__lte=purchased_micros)
        .order_by("-number")
        .first()
    )


def _higher(a: Tier | None, b: Tier | None) -> Tier | None:
    if a is None or b is None:
        return a or b
    return a if a.number >= b.number else b


def _account(group_id: int) -> BillingAccount:
    return BillingAccount.objects.filter(group_id=group_id).first() or (
        BillingAccount(group_id=group_id)
    )


def effective_tier(group_id: int) -> tuple[Tier | None, Tier | None, GroupLimits]:
    """The tier whose limits apply, the tier reached, and the group's limits row."""
    state = (
        GroupLimits.objects.select_related("reached_tier", "override_tier")
        .filter(group_id=group_id)
        .first()
    ) or GroupLimits(group_id=group_id)
    reached = _higher(
        state.reached_tier,
        tier_for_purchased(_account(group_id).lifetime_purchased_micros),
    )
    return state.override_tier or reached, reached, state


def raise_tier(group_id: int) -> Tier | None:
    """Record a higher tier reached by purchases; never lower one. Idempotent."""
    with transaction.atomic():
        GroupLimits.objects.get_or_create(group_id=group_id)
        state = GroupLimits.objects.select_for_update().get(group_id=group_id)
        purchased = _account(group_id).lifetime_purchased_micros
        earned = tier_for_purchased(purchased)
        old = state.reached_tier
        if earned is None or (old is not None and old.number >= earned.number):
            return old
        if old is None and earned.min_purchased_micros == 0:
            return earned  # the starting tier: every group has it, nothing to note
        state.reached_tier = earned
        state.save(update_fields=["reached_tier", "updated_at"])
        record_audit(
            ApiGroup.objects.get(pk=group_id),
            None,
            AuditAction.LIMITS_CHANGED,
            actor_label="system",
            target=f"tier {earned.number}",
            changes={"tier": [old.number if old else None, earned.number]},
        )
        transaction.on_commit(lambda: forget_group_limits(group_id))
    logger.info("tier raised group=%s tier=%s", group_id, earned.number)
    return earned


def set_override_tier(
    group: ApiGroup, tier: Tier | None, *, actor=None, note: str = ""
) -> None:
    """Give a group its own tier (or take it back, with None), as an operator."""
    with transaction.atomic():
        GroupLimits.objects.get_or_create(group=group)
        state = GroupLimits.objects.select_for_update().get(group=group)
        old = state.override_tier.number if state.override_tier else None
        new = tier.number if tier else None
        state.override_tier = tier
        state.override_note = note[:200]
        state.save(update_fields=["override_tier", "override_note", "updated_at"])
        _audit_operator(group, actor, "override tier", {"override_tier": [old, new]})
    logger.info("tier override group=%s tier=%s", group.pk, new)


def set_model_limit(
    group: ApiGroup,
    model: str,
    requests_per_minute: int | None,
    *,
    actor=None,
    note: str = "",
) -> GroupModelLimit | None:
    """Set a group's own requests per minute for a model (None: back to the tier)."""
    saved = None
    with transaction.atomic():
        current = (
            GroupModelLimit.objects.select_for_update()
            .filter(group=group, model=model)
            .first()
        )
        old = current.requests_per_minute if current else None
        if requests_per_minute is None:
            GroupModelLimit.objects.filter(group=group, model=model).delete()
        else:
            saved, _ = GroupModelLimit.objects.update_or_create(
                group=group,
                model=model,
                defaults={"requests_per_minute": requests_per_minute, "note": note},
            )
        _audit_operator(
            group, actor, f"{model} limit", {model: [old, requests_per_minute]}
        )
    logger.info(
        "model limit group=%s model=%s rpm=%s", group.pk, model, requests_per_minute
    )
    return saved


def _audit_operator(group: ApiGroup, actor, target: str, changes: dict) -> None:
    record_audit(
        group,
        actor,
        AuditAction.LIMITS_CHANGED,
        actor_label="operator",
        target=target,
        changes=changes,
    )
    group_id = group.pk
    transaction.on_commit(lambda: forget_group_limits(group_id))


def forget_group_limits(group_id: int) -> None:
    cache.delete(_cache_key(group_id))
    _local_limits.pop(group_id, None)


def _limits_table(group_id: int) -> dict:
    """{"default": rpm, "models": {model: rpm}} for the group, from the database."""
    tier, _, _ = effective_tier(group_id)
    models: dict[str, int] = {}
    default = FALLBACK_REQUESTS_PER_MINUTE
    if tier is not None:
        default = tier.default_requests_per_minute
        models.update(
            TierModelLimit.objects.filter(tier=tier).values_list(
                "model", "requests_per_minute"
            )
        )
    models.update(
        GroupModelLimit.objects.filter(group_id=group_id).values_list(
            "model", "requests_per_minute"
        )
    )
    return {"default": default, "models": models}


def requests_per_minute(group_id: int, model: str) -> int:
    """The group's limit for a model, read from this process's memory when fresh.

    The API's hot path then costs no round trip for it; other processes see a
    change within LOCAL_LIMITS_SECONDS of the shared cache being cleared.
    """
    now = time.monotonic()
    held = _local_limits.get(group_id)
    if held is not None and held[0] > now:
        table = held[1]
    else:
        table = _shared_limits(group_id)
        _local_limits[group_id] = (now + LOCAL_LIMITS_SECONDS, table)
    return table["models"].get(model, table["default"])


def forget_local_limits() -> None:
    """Drop this process's copies (tests start each case from a clean slate)."""
    _local_limits.clear()


def _shared_limits(group_id: int) -> dict:
    key = _cache_key(group_id)
    table = cache.get(key)
    if table is None:
        table = _limits_table(group_id)
        cache.set(key, table, LIMITS_CACHE_SECONDS)
    return table


def _model_limits(tier: Tier | None, overrides: dict[str, int]) -> list[ModelLimit]:
    by_model = {}
    if tier is not None:
        for limit in tier.limits.all():
            by_model[limit.model] = ModelLimit(
                limit.model, limit.requests_per_minute, False
            )
    for model, rpm in overrides.items():
        by_model[model] = ModelLimit(model, rpm, True)
    return [by_model[name] for name in sorted(by_model)]


def limits_summary(group_id: int) -> GroupLimitsSummary:
    tier, reached, state = effective_tier(group_id)
    account = _account(group_id)
    overrides = dict(
        GroupModelLimit.objects.filter(group_id=group_id).values_list(
            "model", "requests_per_minute"
        )
    )
    current_number = reached.number if reached else -1
    next_tier = (
        Tier.objects.filter(
            number__gt=current_number,
            min_purchased_micros__gt=account.lifetime_purchased_micros,
        )
        .order_by("number")
        .first()
    )
    return GroupLimitsSummary(
        tier=tier,
        reached_tier=reached,
        tier_overridden=state.override_tier_id is not None,
        override_note=state.override_note,
        limits=_model_limits(tier, overrides),
        default_requests_per_minute=(
            tier.default_requests_per_minute if tier else FALLBACK_REQUESTS_PER_MINUTE
        ),
        purchased_micros=account.lifetime_purchased_micros,
        balance_micros=account.balance_micros,
        next_tier=next_tier,
        next_tier_limits=_model_limits(next_tier, {}) if next_tier else [],
    )
