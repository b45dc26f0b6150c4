"""The only code that moves credits. Every movement is one ledger entry.

Two paths write the same rows:
- `post_entry` for purchases, top-ups, grants, adjustments and refunds: it locks the
  account row, moves the balance and appends the entry in one transaction.
- `debit_usage` for metered calls: it records the usage event, its hourly rollup,
  the debit and the balance change together. On PostgreSQL this is one statement,
  so a metered call costs a single round trip to write; elsewhere it is the same
  work in a transaction.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apikeys.models import ApiKey
from billing.models import PURCHASED_KINDS, BillingAccount, LedgerEntry, LedgerKind
from billing.signals import balance_changed
from portal.db import fetch_one
from usage.models import KeyDayRollup, ModelHourRollup, UsageEvent, UsageRollup

logger = logging.getLogger(__name__)

# Sent as threshold_micros when the group has no top-up settings row yet.
NO_THRESHOLD_ROW = -1

# last_used_at is a hint for people, not an audit trail: refresh it at most this often.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class LedgerError(ValueError):
    pass


@dataclass(frozen=True)
class BalanceMove:
    group_id: int
    before_micros: int
    after_micros: int
    entry_id: int


def ensure_account(group_id: int) -> BillingAccount:
    account, _ = BillingAccount.objects.get_or_create(group_id=group_id)
    return account


def get_balance(group_id: int) -> int:
    balance = (
        BillingAccount.objects.filter(group_id=group_id)
        .values_list("balance_micros", flat=True)
        .first()
    )
    return balance or 0


def has_credits(group_id: int) -> bool:
    """Whether a metered call may start: only while the balance is positive.

    A call admitted here is debited in full when it ends, so the balance can fall
    below zero by at most the cost of the calls in flight when it ran out.
    """
    return get_balance(group_id) > 0


def post_entry(
    group_id: int,
    kind: str,
    amount_micros: int,
    *,
    actor=None,
    actor_label: str = "",
    note: str = "",
    allow_negative_balance: bool = True,
    at: datetime | None = None,
    **source,
) -> tuple[LedgerEntry, BalanceMove]:
    """Move `amount_micros` (signed) into a group's credits and record why.

    With `allow_negative_balance=False` a debit that would leave the balance below
    zero raises LedgerError and changes nothing. `source` holds the entry's links
    (for example `payment=...`). `at` dates the entry in the past, for history
    brought in from elsewhere (the demo's); it must precede every later entry.
    """
    if kind == LedgerKind.USAGE:
        raise LedgerError("usage is debited through debit_usage")
    with transaction.atomic():
        ensure_account(group_id)
        account = BillingAccount.objects.select_for_update().get(group_id=group_id)
        before = account.balance_micros
        after = before + amount_micros
        if amount_micros < 0 and after < 0 and not allow_negative_balance:
            raise LedgerError("that would make the balance negative")
        account.balance_micros = after
        fields = ["balance_micros", "updated_at"]
        if kind in PURCHASED_KINDS:
            account.lifetime_purchased_micros += amount_micros
            fields.append("lifetime_purchased_micros")
        account.save(update_fields=fields)
        entry = LedgerEntry.objects.create(
            group_id=group_id,
            kind=kind,
            amount_micros=amount_micros,
            balance_after_micros=after,
            actor=actor if actor is not None and actor.is_authenticated else None,
            actor_label=actor_label,
            note=note[:500],
            created_at=at or timezone.now(),
            **source,
        )
        move = BalanceMove(group_id, before, after, entry.pk)
        balance_changed.send(
            sender=LedgerEntry,
            group_id=group_id,
            before_micros=before,
            after_micros=after,
            kind=kind,
            entry_id=entry.pk,
        )
    logger.info(
        "ledger entry group=%s kind=%s amount_micros=%s balance_micros=%s entry=%s",
        group_id,
        kind,
        amount_micros,
        after,
        entry.pk,
    )
    return entry, move


def debit_usage(event: UsageEvent) -> BalanceMove:
    """Record a priced, unsaved usage event and debit its cost, atomically.

    The cost is debited in full even when it takes the balance below zero: a call
    is admitted while the balance is positive and priced only when it ends.
    """
    if event.pk is not None:
        raise LedgerError("usage event already recorded")
    if event.created_at is None:
        event.created_at = timezone.now()
    if settings.DATABASE_IS_POSTGRES and connection.get_autocommit():
        move = _debit_usage_one_statement(event)
    else:
        move = _debit_usage_in_transaction(event)
    if move.after_micros <= 0 < move.before_micros:
        logger.info(
            "balance exhausted group=%s balance_micros=%s",
            move.group_id,
            move.after_micros,
        )
    return move


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


_EVENT_COLUMNS = (
    "group_id",
    "api_key_id",
    "model",
    "request_id",
    "status",
    "streamed",
    "search_context_size",
    "input_tokens",
    "output_tokens",
    "citation_tokens",
    "reasoning_tokens",
    "search_queries",
    "input_cost_micros",
    "output_cost_micros",
    "citation_cost_micros",
    "reasoning_cost_micros",
    "request_cost_micros",
    "search_cost_micros",
    "cost_micros",
    "latency_ms",
    "created_at",
)
_ROLLUP_SUMS = (
    "input_tokens",
    "output_tokens",
    "citation_tokens",
    "reasoning_tokens",
    "search_queries",
    "cost_micros",
)


# Each rollup level: table, the columns that identify a row (in its unique
# constraint's order) and the parameters that fill them. Dashboards read all three.
_ROLLUPS = (
    ("usage_usagerollup", ("group_id", "hour", "api_key_id", "model")),
    ("usage_modelhourrollup", ("group_id", "hour", "model")),
    ("usage_keydayrollup", ("group_id", "day", "api_key_id", "model")),
)


def _rollup_upsert(table: str, key_columns: tuple[str, ...]) -> str:
    # The row comes from the event just inserted, so every figure is named once.
    sums = ("requests", *_ROLLUP_SUMS)
    columns = ", ".join((*key_columns, *sums))
    period = {"hour": "%(hour)s", "day": "%(day)s"}
    keys = (period.get(c, f"event.{c}") for c in key_columns)
    values = ", ".join((*keys, "1", *(f"event.{c}" for c in _ROLLUP_SUMS)))
    sets = ", ".join(f"{c} = r.{c} + EXCLUDED.{c}" for c in sums)
    return (
        f"INSERT INTO {table} AS r ({columns}) SELECT {values} FROM event "  # noqa: S608
        f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {sets} RETURNING 1"
    )


def _build_statement() -> str:
    event_cols = ", ".join(_EVENT_COLUMNS)
    # Short placeholder names (e0, e1...) keep the statement under psycopg's limit.
    p = {c: f"%(e{n})s" for n, c in enumerate(_EVENT_COLUMNS)}
    event_vals = ", ".join(p.values())
    returned = ", ".join(
        ("id", "group_id", "api_key_id", "model", "created_at", *_ROLLUP_SUMS)
    )
    rollups = ", ".join(
        f"rollup_{n} AS ({_rollup_upsert(table, key)})"
        for n, (table, key) in enumerate(_ROLLUPS)
    )
    # Data-modifying WITH clauses all run to completion in one atomic statement.
    # Every insert selects FROM account (or from the event, which does): a group
    # without an account writes nothing. Only table and column names from the
    # constants above are interpolated.
    statement = f"""
    WITH account AS (
        UPDATE billing_billingaccount
        SET balance_micros = balance_micros - {p["cost_micros"]},
            updated_at = {p["created_at"]}
        WHERE group_id = {p["group_id"]}
        RETURNING balance_micros
    ), event AS (
        INSERT INTO usage_usageevent ({event_cols}) SELECT {event_vals} FROM account
        RETURNING {returned}
    ), entry AS (
        INSERT INTO billing_ledgerentry
            (group_id, kind, amount_micros, balance_after_micros, actor_label, note,
             usage_event_id, created_at)
        SELECT event.group_id, 'usage', -event.cost_micros, account.balance_micros,
               'api', '', event.id, event.created_at
        FROM account, event
        RETURNING id
    ), {rollups}, touched AS (
        UPDATE apikeys_apikey SET last_used_at = {p["created_at"]}
        WHERE id = {p["api_key_id"]}
          AND (last_used_at IS NULL OR last_used_at < %(stale_before)s)
        RETURNING 1
    )
    SELECT account.balance_micros, event.id, entry.id,
           (SELECT threshold_micros FROM billing_autotopup
            WHERE group_id = {p["group_id"]})
    FROM account, event, entry
    """  # noqa: S608
    # psycopg caches the parsing of statements up to 4,096 characters; keeping
    # this one under that saves the metered API half a millisecond per call.
    return " ".join(statement.split())


_STATEMENT = _build_statement()


def _debit_usage_one_statement(event: UsageEvent) -> BalanceMove:
    params = {f"e{n}": getattr(event, c) for n, c in enumerate(_EVENT_COLUMNS)}
    params["hour"] = _hour(event.created_at)
    params["day"] = params["hour"].date()
    params["stale_before"] = event.created_at - LAST_USED_RESOLUTION
    row = fetch_one(_STATEMENT, params)
    if row is None:
        # The group had no account yet, so nothing was written: make one, retry.
        ensure_account(event.group_id)
        row = fetch_one(_STATEMENT, params)
    if row is None:
        raise AssertionError("the debit writes a row once the account exists")
    after, event_id, entry_id, threshold = row
    event.pk = event_id
    move = BalanceMove(event.group_id, after + event.cost_micros, after, entry_id)
    balance_changed.send(
        sender=LedgerEntry,
        group_id=event.group_id,
        before_micros=move.before_micros,
        after_micros=after,
        kind=LedgerKind.USAGE,
        entry_id=entry_id,
        # Read in the same statement, so that watching for a crossing below the
        # top-up threshold costs the metered call no extra round trip.
        threshold_micros=threshold if threshold is not None else NO_THRESHOLD_ROW,
    )
    return move


def _debit_usage_in_transaction(event: UsageEvent) -> BalanceMove:
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().get(
            group_id=event.group_id
        )
        before = account.balance_micros
        after = before - event.cost_micros
        BillingAccount.objects.filter(pk=account.pk).update(
            balance_micros=F("balance_micros") - event.cost_micros,
            updated_at=event.created_at,
        )
        event.save(force_insert=True)
        entry = LedgerEntry.objects.create(
            group_id=event.group_id,
            kind=LedgerKind.USAGE,
            amount_micros=-event.cost_micros,
            balance_after_micros=after,
            actor_label="api",
            usage_event=event,
            created_at=event.created_at,
        )
        _add_to_rollup(event)
        _touch_key(event)
        balance_changed.send(
            sender=LedgerEntry,
            group_id=event.group_id,
            before_micros=before,
            after_micros=after,
            kind=LedgerKind.USAGE,
            entry_id=entry.pk,
        )
    return BalanceMove(event.group_id, before, after, entry.pk)


def _add_to_rollup(event: UsageEvent) -> None:
    hour = _hour(event.created_at)
    keys = (
        (UsageRollup, {"api_key_id": event.api_key_id, "hour": hour}),
        (ModelHourRollup, {"hour": hour}),
        (KeyDayRollup, {"api_key_id": event.api_key_id, "day": hour.date()}),
    )
    increments = {name: F(name) + getattr(event, name) for name in _ROLLUP_SUMS}
    for rollup, key in keys:
        key = {"group_id": event.group_id, "model": event.model, **key}
        if not rollup.objects.filter(**key).update(
            requests=F("requests") + 1, **increments
        ):
            rollup.objects.create(
                **key,
                requests=1,
                **{name: getattr(event, name) for name in _ROLLUP_SUMS},
            )


def _touch_key(event: UsageEvent) -> None:
    stale = event.created_at - LAST_USED_RESOLUTION
    ApiKey.objects.filter(pk=event.api_key_id).exclude(last_used_at__gte=stale).update(
        last_used_at=event.created_at
    )


@dataclass(frozen=True)
class LedgerMismatch:
    group_id: int
    slug: str
    stored_micros: int
    ledger_micros: int


def ledger_mismatches() -> list[LedgerMismatch]:
    """Every group whose stored balance differs from the sum of its ledger."""
    ledger_sum = (
        LedgerEntry.objects.filter(group_id=OuterRef("group_id"))
        .values("group_id")
        .annotate(total=Sum("amount_micros"))
        .values("total")
    )
    accounts = (
        BillingAccount.objects.annotate(
            ledger_micros=Coalesce(Subquery(ledger_sum), Value(0))
        )
        .exclude(balance_micros=F("ledger_micros"))
        .values_list("group_id", "group__slug", "balance_micros", "ledger_micros")
        .order_by("group_id")
    )
    return [LedgerMismatch(*row) for row in accounts]
