import threading
import uuid

import pytest

from limits import ratelimit
from limits.ratelimit import LocalRateLimiter, RedisRateLimiter, check_rate_limit
from limits.services import set_model_limit


class FakeClock:
    def __init__(self) -> None:
        self.ns = 1_000_000_000_000

    def __call__(self) -> int:
        return self.ns

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * 1_000_000_000)


def test_a_burst_up_to_the_limit_passes_then_is_refused():
    limiter = LocalRateLimiter(clock=FakeClock())
    results = [limiter.hit("g:sonar", 5) for _ in range(6)]
    assert [r.allowed for r in results] == [True] * 5 + [False]
    assert [r.remaining for r in results[:5]] == [4, 3, 2, 1, 0]
    refused = results[-1]
    assert refused.retry_after == 12  # one request every 60/5 seconds
    assert refused.headers()["Retry-After"] == "12"
    assert refused.headers()["x-ratelimit-limit"] == "5"
    assert refused.headers()["x-ratelimit-remaining"] == "0"
    assert refused.headers()["x-ratelimit-reset"] == "60"


def test_capacity_returns_at_the_steady_rate():
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock)
    for _ in range(5):
        limiter.hit("g:sonar", 5)
    clock.advance(11.9)
    assert not limiter.hit("g:sonar", 5).allowed
    clock.advance(0.2)
    assert limiter.hit("g:sonar", 5).allowed
    assert not limiter.hit("g:sonar", 5).allowed


def test_refused_calls_do_not_use_up_capacity():
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock)
    for _ in range(5):
        limiter.hit("g:sonar", 5)
    for _ in range(50):
        limiter.hit("g:sonar", 5)
    clock.advance(12.1)
    assert limiter.hit("g:sonar", 5).allowed


def test_buckets_are_separate_per_group_and_model():
    limiter = LocalRateLimiter(clock=FakeClock())
    for _ in range(2):
        limiter.hit("1:sonar", 2)
    assert not limiter.hit("1:sonar", 2).allowed
    assert limiter.hit("1:sonar-pro", 2).allowed
    assert limiter.hit("2:sonar", 2).allowed


def test_successful_calls_carry_the_headers_without_retry_after():
    result = LocalRateLimiter(clock=FakeClock()).hit("g:m", 10)
    assert result.allowed
    assert "Retry-After" not in result.headers()
    assert result.headers()["x-ratelimit-remaining"] == "9"


def test_local_limiter_is_exact_under_threads():
    limiter = LocalRateLimiter()
    allowed = []

    def hammer():
        allowed.extend(r.allowed for r in (limiter.hit("g:m", 40) for _ in range(20)))

    threads = [threading.Thread(target=hammer) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 40


def test_check_rate_limit_uses_the_groups_limit(group, settings):
    settings.REDIS_URL = ""
    ratelimit.get_limiter.cache_clear()
    try:
        set_model_limit(group, "sonar", 3)
        results = [check_rate_limit(group.pk, "sonar") for _ in range(4)]
    finally:
        ratelimit.get_limiter.cache_clear()
    assert [r.allowed for r in results] == [True, True, True, False]
    assert results[0].limit == 3


def _redis_client(redis_url):
    import redis

    return redis.Redis.from_url(redis_url)


def test_redis_limiter_is_shared_by_independent_instances(redis_url):
    bucket = f"test:{uuid.uuid4().hex}"
    first = RedisRateLimiter(_redis_client(redis_url))
    second = RedisRateLimiter(_redis_client(redis_url))
    results = [(first if i % 2 else second).hit(bucket, 10) for i in range(15)]
    assert [r.allowed for r in results] == [True] * 10 + [False] * 5
    assert [r.remaining for r in results[:10]] == list(range(9, -1, -1))
    assert results[-1].retry_after == 6


def test_redis_limiter_is_exact_across_concurrent_connections(redis_url):
    bucket = f"test:{uuid.uuid4().hex}"
    allowed = []

    def hammer():
        limiter = RedisRateLimiter(_redis_client(redis_url))
        allowed.extend(limiter.hit(bucket, 50).allowed for _ in range(30))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 50


def test_redis_bucket_expires_when_idle(redis_url):
    bucket = f"test:{uuid.uuid4().hex}"
    client = _redis_client(redis_url)
    RedisRateLimiter(client).hit(bucket, 60)
    ttl = client.pttl(f"portal:rl:{bucket}")
    assert 0 < ttl <= 1000


def test_with_redis_down_the_service_falls_back_to_process_memory(group, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    ratelimit.get_limiter.cache_clear()
    set_model_limit(group, "sonar", 2)
    results = [check_rate_limit(group.pk, "sonar") for _ in range(3)]
    assert [r.allowed for r in results] == [True, True, False]


@pytest.fixture(autouse=True)
def _fresh_limiters(request):
    if "group" in request.fixturenames:
        from tests.seeded_tiers import ensure_seeded_tiers

        request.getfixturevalue("group")
        ensure_seeded_tiers()
    ratelimit.get_limiter.cache_clear()
    ratelimit._fallback_limiter.cache_clear()
    yield
    ratelimit.get_limiter.cache_clear()
