"""Authenticate an API call from its bearer key, in one database query.

No per-process cache of keys: a revoked key fails on the very next request on
every worker, because every request reads the key's current state.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.http import HttpRequest
from django.utils import timezone

from apikeys.models import ApiKey, KeyStatus, stopped_by_replacement
from apikeys.secrets import hash_key, hashes_match, parse_key
from billing.models import BillingAccount
from gateway import errors
from portal.db import fetch_one


@dataclass(frozen=True)
class Caller:
    key_id: int
    group_id: int
    # The group's balance and credits ever bought, read with the key.
    balance_micros: int
    lifetime_purchased_micros: int
    # When the call was admitted; it is priced at this moment.
    at: datetime


def _key_query() -> str:
    keys, accounts = ApiKey._meta.db_table, BillingAccount._meta.db_table
    # Written out rather than built by the ORM on every call, and prepared once
    # per connection: this runs once per API call, and compiling the equivalent
    # queryset costs more CPU than the query itself. Only table names from model
    # metadata are interpolated.
    return f"""
        SELECT k.id, k.group_id, k.secret_hash, k.status, k.expires_at,
               k.replaced_by_id, a.balance_micros, a.lifetime_purchased_micros
        FROM {keys} k LEFT JOIN {accounts} a ON a.group_id = k.group_id
        WHERE k.secret_hash = %s
    """  # noqa: S608


_KEY_QUERY = _key_query()


def _bearer_key(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        raise errors.missing_key()
    scheme, _, token = header.partition(" ")
    key = parse_key(token.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        raise errors.malformed_key()
    return key


def _aware(moment: datetime | str | None) -> datetime | None:
    # SQLite hands raw queries naive UTC times (or text); PostgreSQL aware ones.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment is not None and timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


def authenticate(request: HttpRequest) -> Caller:
    """Return the caller, or raise a 401 ApiError; malformed keys cost no query."""
    key = _bearer_key(request)
    digest = hash_key(key)
    row = fetch_one(_KEY_QUERY, [digest])
    if row is None or not hashes_match(row[2], key):
        raise errors.unknown_key()
    key_id, group_id, _, status, expires_at, replaced_by, balance, purchased = row
    now = timezone.now()
    if stopped_by_replacement(status, replaced_by, expires_at):
        # Its client should learn that a new key replaced it, not that it was
        # withdrawn.
        raise errors.expired_key()
    if status != KeyStatus.ACTIVE:
        raise errors.revoked_key()
    expires_at = _aware(expires_at)
    if expires_at is not None and expires_at <= now:
        raise errors.expired_key()
    return Caller(key_id, group_id, balance or 0, purchased or 0, now)
