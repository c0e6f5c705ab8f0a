"""The per-process memo of discovery's totals: a few seconds old at most, bounded in size,
forgotten at once on a profile write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mas.core.mentorship.mentors.model import MentorFilter, MentorSort
from mas.core.mentorship.mentors.totals import TotalsMemo


class StepClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def test_a_total_lives_for_its_ttl_and_one_reader_recounts() -> None:
    clock = StepClock()
    memo = TotalsMemo(clock, ttl_s=5)
    assert memo.get("listed") is None
    memo.put("listed", 12)
    clock.at += timedelta(seconds=4.9)
    assert memo.get("listed") == 12
    clock.at += timedelta(seconds=0.1)
    assert memo.get("listed") is None  # the first reader past the TTL recounts
    assert memo.get("listed") == 12  # the others keep the old figure meanwhile
    memo.put("listed", 13)
    assert memo.get("listed") == 13
    memo.forget()
    assert memo.get("listed") is None


def test_a_recount_that_never_reports_back_is_handed_out_again() -> None:
    clock = StepClock()
    memo = TotalsMemo(clock, ttl_s=5)
    memo.put("listed", 12)
    clock.at += timedelta(seconds=5)
    assert memo.get("listed") is None  # this reader fails before its put
    clock.at += timedelta(seconds=0.9)
    assert memo.get("listed") == 12
    clock.at += timedelta(seconds=0.1)
    assert memo.get("listed") is None  # a second recount, the first having lapsed
    assert memo.get("listed") == 12
    clock.at += timedelta(seconds=4)
    assert memo.get("listed") is None  # twice the TTL: the figure is dropped
    assert memo.get("listed") is None


def test_the_memo_keeps_its_newest_totals_only() -> None:
    memo = TotalsMemo(StepClock(), size=3)
    for key in "abcd":
        memo.put(key, ord(key))
    assert [memo.get(key) for key in "abcd"] == [None, ord("b"), ord("c"), ord("d")]
    memo.put("b", 1)  # a re-count moves the key to the newest end
    memo.put("e", 2)
    assert [memo.get(key) for key in "bcde"] == [1, None, ord("d"), 2]


def test_a_filter_is_cleaned_before_it_keys_anything() -> None:
    given = MentorFilter(
        search="  Asha ", companies=("Acme", " acme", ""), expertise=("SQL",), sort=MentorSort.MEETS
    )
    assert given.cleaned() == MentorFilter(
        search="asha", companies=("acme",), expertise=("sql",), sort=MentorSort.MEETS
    )
    assert MentorFilter(search="   ").cleaned().search is None
