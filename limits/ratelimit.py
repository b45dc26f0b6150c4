"""Requests-per-minute limits per group and model, as GCRA (a leaky bucket).

Each bucket keeps one number, its theoretical arrival time (TAT): when it would be
empty again. A limit of L per minute spaces requests by an interval of 60s / L and
lets a burst of L through at once. With `settings.REDIS_URL` the state lives in
Redis and one Lua script reads and writes it atomically, using Redis's clock, so
every web process shares one count. Without Redis the same rule holds in each
process.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings
from redis.exceptions import RedisError

from limits.services import requests_per_minute

logger = logging.getLogger(__name__)

PERIOD_SECONDS = 60
_PERIOD_US = PERIOD_SECONDS * 1_000_000

# KEYS[1]: the bucket. ARGV: limit, period in microseconds.
# Returns {allowed (0/1), remaining, microseconds until empty, retry after in us}.
# Integers stay below 2^53, exact in Lua's doubles; string.format keeps them whole.
_GCRA_LUA = """
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local interval = math.floor(period / limit)
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local ahead = tat + interval - now
if ahead > period then
  return {0, 0, tat - now, ahead - period}
end
redis.call('SET', KEYS[1], string.format('%d', now + ahead),
           'PX', string.format('%d', math.ceil(ahead / 1000)))
return {1, math.floor((period - ahead) / interval), ahead, 0}
"""


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the bucket is full again
    retry_after: int  # seconds to wait before the next call can pass; 0 if allowed

    def headers(self) -> dict[str, str]:
        """The x-ratelimit-* headers, and Retry-After on a refusal."""
        headers = {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def _result(limit: int, allowed: int, remaining: int, ahead_us: int, retry_us: int):
    return RateLimitResult(
        allowed=bool(allowed),
        limit=limit,
        remaining=max(0, int(remaining)),
        reset_seconds=math.ceil(ahead_us / 1_000_000),
        retry_after=max(1, math.ceil(retry_us / 1_000_000)) if not allowed else 0,
    )


class RedisRateLimiter:
    """GCRA in Redis: one atomic script call per request, shared by all processes."""

    def __init__(self, client, prefix: str = "portal:rl:") -> None:
        self._script = client.register_script(_GCRA_LUA)
        self._prefix = prefix

    def hit(self, bucket: str, limit: int) -> RateLimitResult:
        allowed, remaining, ahead, retry = self._script(
            keys=[self._prefix + bucket], args=[limit, _PERIOD_US]
        )
        return _result(limit, allowed, remaining, ahead, retry)


class LocalRateLimiter:
    """The same GCRA in this process's memory, for running without Redis."""

    PRUNE_ABOVE = 10_000

    def __init__(self, clock=time.monotonic_ns) -> None:
        self._clock = clock
        self._tats: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, limit: int) -> RateLimitResult:
        interval = _PERIOD_US // limit
        with self._lock:
            now = self._clock() // 1000
            tat = max(self._tats.get(bucket, now), now)
            ahead = tat + interval - now
            if ahead > _PERIOD_US:
                return _result(limit, 0, 0, tat - now, ahead - _PERIOD_US)
            self._tats[bucket] = now + ahead
            if len(self._tats) > self.PRUNE_ABOVE:
                self._prune(now)
        return _result(limit, 1, (_PERIOD_US - ahead) // interval, ahead, 0)

    def _prune(self, now: int) -> None:
        for name in [name for name, tat in self._tats.items() if tat <= now]:
            del self._tats[name]


@lru_cache(maxsize=1)
def get_limiter() -> RedisRateLimiter | LocalRateLimiter:
    if settings.REDIS_URL:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        return RedisRateLimiter(client)
    return LocalRateLimiter()


def check_rate_limit(group_id: int, model: str) -> RateLimitResult:
    """Count one call of `model` by the group against its limit, and say if it may run.

    Costs one cache read for the limit (cached briefly) and one Redis script call.
    """
    limit = requests_per_minute(group_id, model)
    bucket = f"{group_id}:{model[:64]}"
    limiter = get_limiter()
    try:
        return limiter.hit(bucket, limit)
    except RedisError:
        # Redis away: keep serving with the same rule per process rather than fail.
        logger.warning("rate limiter falling back to process memory group=%s", group_id)
        return _fallback_limiter().hit(bucket, limit)


@lru_cache(maxsize=1)
def _fallback_limiter() -> LocalRateLimiter:
    return LocalRateLimiter()
