"""Fixed-window rate limiting: what a caller hammering an endpoint will notice."""

from __future__ import annotations

import pytest

from mas.adapters.cache.memory import MemoryCache
from mas.core.shared.errors import RateLimited
from mas.core.shared.ratelimit import RateDecision, RateLimiter


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_020.0)  # 40 s into a 60 s window


@pytest.fixture
def cache(clock: FakeClock) -> MemoryCache:
    return MemoryCache(clock=clock)


@pytest.fixture
def limiter(cache: MemoryCache, clock: FakeClock) -> RateLimiter:
    return RateLimiter(cache, now=clock)


async def test_allows_up_to_the_limit_then_refuses(limiter: RateLimiter) -> None:
    decisions = [await limiter.hit("login:asha", limit=3, window_s=60) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[0] == RateDecision(allowed=True, remaining=2, retry_after_s=0)
    assert decisions[3].retry_after_s == 20  # the window ends 20 s from now


async def test_retry_after_rounds_up_and_is_never_zero(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    clock.now = 1_700_000_039.6  # 0.4 s before the window ends
    await limiter.hit("k", limit=1, window_s=60)
    refused = await limiter.hit("k", limit=1, window_s=60)
    assert refused.allowed is False
    assert refused.retry_after_s == 1


async def test_a_new_window_starts_fresh(limiter: RateLimiter, clock: FakeClock) -> None:
    for _ in range(2):
        await limiter.hit("k", limit=2, window_s=60)
    assert (await limiter.hit("k", limit=2, window_s=60)).allowed is False
    clock.now += 20  # the next window
    assert (await limiter.hit("k", limit=2, window_s=60)).allowed is True


async def test_keys_and_window_sizes_are_counted_apart(limiter: RateLimiter) -> None:
    assert (await limiter.hit("a", limit=1, window_s=60)).allowed
    assert (await limiter.hit("b", limit=1, window_s=60)).allowed
    assert (await limiter.hit("a", limit=1, window_s=3600)).allowed
    assert not (await limiter.hit("a", limit=1, window_s=60)).allowed


async def test_limiters_sharing_a_cache_share_counts(cache: MemoryCache, clock: FakeClock) -> None:
    first, second = RateLimiter(cache, now=clock), RateLimiter(cache, now=clock)
    assert (await first.hit("ip:1.2.3.4", limit=2, window_s=60)).allowed
    assert (await second.hit("ip:1.2.3.4", limit=2, window_s=60)).allowed
    assert not (await first.hit("ip:1.2.3.4", limit=2, window_s=60)).allowed


async def test_counters_expire_with_their_window(
    cache: MemoryCache, limiter: RateLimiter, clock: FakeClock
) -> None:
    await limiter.hit("k", limit=5, window_s=60)
    assert len(cache._entries) == 1
    clock.now += 60
    assert await cache.get("ratelimit:k:60:28333333") is None


async def test_limit_zero_refuses_everything(limiter: RateLimiter) -> None:
    assert not (await limiter.hit("k", limit=0, window_s=10)).allowed


async def test_check_raises_rate_limited_with_retry_after(limiter: RateLimiter) -> None:
    decision = await limiter.check("otp:+919800000000", limit=1, window_s=60)
    assert decision.allowed
    with pytest.raises(RateLimited) as caught:
        await limiter.check("otp:+919800000000", limit=1, window_s=60, detail="Too many OTPs")
    assert caught.value.retry_after == 20
    assert caught.value.code == "rate_limited"
    assert caught.value.detail == "Too many OTPs; try again in 20 s"
    with pytest.raises(RateLimited) as caught:
        await limiter.check("otp:+919800000000", limit=1, window_s=60)
    # The default message does not echo the key (it may hold a phone number or an IP).
    assert caught.value.detail == "Too many attempts; try again in 20 s"


@pytest.mark.parametrize(("limit", "window_s"), [(-1, 60), (5, 0)])
async def test_rejects_nonsense_arguments(limiter: RateLimiter, limit: int, window_s: int) -> None:
    with pytest.raises(ValueError):
        await limiter.hit("k", limit=limit, window_s=window_s)
