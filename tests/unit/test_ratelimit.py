"""Sliding-window rate limiting: what a caller hammering an endpoint will notice."""

from __future__ import annotations

import pytest

from mas.adapters.cache.memory import MemoryCache
from mas.adapters.fakes.platform import FakeClock
from mas.core.platform.errors import RateLimited
from mas.core.platform.ratelimit import RateDecision, RateLimiter


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
    # Four attempts in this window weigh on the next one: a third attempt fits there once half
    # of it has passed, i.e. 20 s (the rest of this window) + 30 s.
    assert decisions[3].retry_after_s == 50


async def test_retry_after_rounds_up_and_is_never_zero(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    start = 1_699_999_980.0  # a window starts
    clock.set(start)
    await limiter.hit("k", limit=2, window_s=60)
    await limiter.hit("k", limit=2, window_s=60)
    clock.set(start + 59)
    await limiter.hit("k", limit=2, window_s=60)  # refused; three in this window now
    clock.set(start + 80.4)  # 20.4 s into the next window: 3 x 0.66 + 1 = 2.98 > 2
    refused = await limiter.hit("k", limit=2, window_s=60)
    assert refused.allowed is False
    # 3 x (1 - f) + 1 + 1 <= 2 needs f = 1: the end of this window, 39.6 s away -> 40.
    assert refused.retry_after_s == 40
    clock.set(start + 119.6)  # 0.4 s before that window ends
    await limiter.hit("k", limit=1, window_s=60)
    late = await limiter.hit("k", limit=1, window_s=60)
    assert late.allowed is False and late.retry_after_s >= 1


async def test_the_previous_window_weighs_on_the_next(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    for _ in range(5):
        assert (await limiter.hit("k", limit=5, window_s=60)).allowed
    # The next window starts: a fixed window would allow five more at once.
    clock.advance(seconds=20)
    refused = await limiter.hit("k", limit=5, window_s=60)
    assert refused.allowed is False
    # 5 x (1 - f) + 2 <= 5 once f >= 0.4, i.e. 24 s into the window.
    assert refused.retry_after_s == 24


async def test_a_caller_that_waits_its_retry_after_is_let_in(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    for _ in range(3):
        await limiter.hit("k", limit=2, window_s=60)
    refused = await limiter.hit("k", limit=2, window_s=60)
    assert not refused.allowed
    clock.advance(seconds=refused.retry_after_s)
    assert (await limiter.peek("k", limit=2, window_s=60)).allowed
    assert (await limiter.hit("k", limit=2, window_s=60)).allowed
    clock.advance(seconds=120)  # two quiet windows later the allowance is whole again
    assert (await limiter.hit("k", limit=2, window_s=60)).remaining == 1


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
    clock.advance(seconds=120)  # counters are read as "the previous window" for one more window
    assert await cache.get("ratelimit:k:60:28333333") is None


async def test_limit_zero_refuses_everything(limiter: RateLimiter) -> None:
    assert not (await limiter.hit("k", limit=0, window_s=10)).allowed


async def test_check_raises_rate_limited_with_retry_after(limiter: RateLimiter) -> None:
    decision = await limiter.check("otp:+919800000000", limit=1, window_s=60)
    assert decision.allowed
    with pytest.raises(RateLimited) as caught:
        await limiter.check("otp:+919800000000", limit=1, window_s=60, detail="Too many OTPs")
    # With a limit of one, the attempt in this window must fade out of the next one entirely.
    assert caught.value.retry_after == 80
    assert caught.value.code == "rate_limited"
    assert caught.value.detail == "Too many OTPs; try again in 80 s"
    with pytest.raises(RateLimited) as caught:
        await limiter.check("otp:+919800000000", limit=1, window_s=60)
    # The default message does not echo the key (it may hold a phone number or an IP).
    assert caught.value.detail == "Too many attempts; try again in 80 s"


@pytest.mark.parametrize(("limit", "window_s"), [(-1, 60), (5, 0)])
async def test_rejects_nonsense_arguments(limiter: RateLimiter, limit: int, window_s: int) -> None:
    with pytest.raises(ValueError):
        await limiter.hit("k", limit=limit, window_s=window_s)
