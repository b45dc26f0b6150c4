"""Authenticate an API call from its bearer key, in one database query.

No per-process cache of keys: a revoked key fails on the very next request on
every worker, because every request reads the key's current state.
"""

from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone

from apikeys.models import ApiKey, KeyStatus
from apikeys.secrets import hash_key, hashes_match, parse_key
from gateway import errors


@dataclass(frozen=True)
class Caller:
    key_id: int
    group_id: int
    # The group's balance and credits ever bought, read with the key.
    balance_micros: int
    lifetime_purchased_micros: int
    # When the call was admitted; it is priced at this moment.
    at: datetime


def _bearer_key(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        raise errors.missing_key()
    scheme, _, token = header.partition(" ")
    key = parse_key(token.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        raise errors.malformed_key()
    return key


def authenticate(request: HttpRequest) -> Caller:
    """Return the caller, or raise a 401 ApiError; malformed keys cost no query."""
    key = _bearer_key(request)
    digest = hash_key(key)
    rows = ApiKey.objects.filter(secret_hash=digest).values_list(
        "pk",
        "group_id",
        "secret_hash",
        "status",
        "expires_at",
        "group__billing_account__balance_micros",
        "group__billing_account__lifetime_purchased_micros",
    )[:1]
    found = list(rows)
    if not found or not hashes_match(found[0][2], key):
        raise errors.unknown_key()
    key_id, group_id, _, status, expires_at, balance, purchased = found[0]
    now = timezone.now()
    if status != KeyStatus.ACTIVE:
        raise errors.revoked_key()
    if expires_at is not None and expires_at <= now:
        raise errors.expired_key()
    return Caller(key_id, group_id, balance or 0, purchased or 0, now)
