"""Per-principal rate limits on a fake clock: starts per minute, runs at once, CPU per hour."""

from __future__ import annotations

import pytest

from runtime.auth.ratelimit import RateLimiter, RateLimits
from runtime.auth.roles import Principal, Role
from runtime.errors import OverLimit
from tests.fakes import FakeClock

AGENT = Principal(name="a", role=Role.AGENT, authenticated_by="token")
OTHER = Principal(name="b", role=Role.AGENT, authenticated_by="token")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def limiter(**limits: int) -> RateLimiter:
    return RateLimiter(lambda who: RateLimits(**limits))


def refusal(limiter: RateLimiter, clock: FakeClock, who: Principal = AGENT) -> OverLimit:
    with pytest.raises(OverLimit) as info:
        limiter.admit(who, clock.now_ms())
    return info.value


def test_the_call_past_the_per_minute_limit_is_refused(clock: FakeClock) -> None:
    """A third start within a minute under a limit of two is refused, naming limit and caller."""
    limits = limiter(invocations_per_minute=2)
    for _ in range(2):
        limits.admit(AGENT, clock.now_ms()).finish(0, clock.now_ms())
    assert refusal(limits, clock).message.startswith(
        "rate limit reached: 2 invocations per minute for agent 'a'; retry in "
    )


def test_per_minute_retry_after_is_when_the_oldest_start_ages_out(clock: FakeClock) -> None:
    """Retry-after counts down to the moment the oldest start in the minute is forgotten."""
    limits = limiter(invocations_per_minute=2)
    limits.admit(AGENT, clock.now_ms())
    clock.advance(10_000)
    limits.admit(AGENT, clock.now_ms())
    clock.advance(15_000)
    assert refusal(limits, clock).retry_after_seconds == 35


def test_retry_after_rounds_up_to_a_whole_second(clock: FakeClock) -> None:
    """Less than a second to wait is reported as one second, never zero."""
    limits = limiter(invocations_per_minute=1)
    limits.admit(AGENT, clock.now_ms())
    clock.advance(59_999)
    assert refusal(limits, clock).retry_after_seconds == 1


def test_per_minute_window_resets(clock: FakeClock) -> None:
    """The per-minute count forgets starts older than a minute."""
    limits = limiter(invocations_per_minute=1)
    limits.admit(AGENT, clock.now_ms()).finish(0, clock.now_ms())
    clock.advance(30_000)
    assert refusal(limits, clock).retry_after_seconds == 30
    clock.advance(30_000)
    limits.admit(AGENT, clock.now_ms())


def test_a_call_past_the_concurrency_limit_is_refused(clock: FakeClock) -> None:
    """A second call while one is running, under a limit of one, is refused with retry in 1 s."""
    limits = limiter(concurrent=1)
    limits.admit(AGENT, clock.now_ms())
    error = refusal(limits, clock)
    assert (error.message, error.retry_after_seconds) == (
        "rate limit reached: 1 concurrent invocations for agent 'a'; retry in 1 s",
        1,
    )


def test_finishing_frees_the_concurrent_slot(clock: FakeClock) -> None:
    """Once the running call finishes, the next one is admitted."""
    limits = limiter(concurrent=1)
    limits.admit(AGENT, clock.now_ms()).finish(0, clock.now_ms())
    limits.admit(AGENT, clock.now_ms())


def test_finishing_a_permit_twice_frees_one_slot(clock: FakeClock) -> None:
    """A permit finished on two paths returns its slot once: the limit still holds."""
    limits = limiter(concurrent=1)
    permit = limits.admit(AGENT, clock.now_ms())
    permit.finish(0, clock.now_ms())
    permit.finish(0, clock.now_ms())
    limits.admit(AGENT, clock.now_ms())
    refusal(limits, clock)


def test_cpu_below_the_budget_is_admitted(clock: FakeClock) -> None:
    """A millisecond under the hourly CPU budget still admits the next call."""
    limits = limiter(cpu_seconds_per_hour=2)
    limits.admit(AGENT, clock.now_ms()).finish(1_999, clock.now_ms())
    limits.admit(AGENT, clock.now_ms())


def test_a_used_up_cpu_budget_refuses(clock: FakeClock) -> None:
    """Once a caller's runs have used the hour's CPU budget, its next call is refused."""
    limits = limiter(cpu_seconds_per_hour=2)
    limits.admit(AGENT, clock.now_ms()).finish(2_000, clock.now_ms())
    assert refusal(limits, clock).message.startswith(
        "rate limit reached: 2 sandbox CPU-seconds per hour for agent 'a'; retry in "
    )


def test_cpu_retry_after_is_when_enough_cpu_ages_out(clock: FakeClock) -> None:
    """Retry-after waits for the oldest runs whose CPU, once forgotten, brings use under budget."""
    limits = limiter(cpu_seconds_per_hour=2)
    for cpu_ms in (900, 900, 1_100):
        clock.advance(1_000)
        limits.admit(AGENT, clock.now_ms()).finish(cpu_ms, clock.now_ms())
    # 2.9 s used of 2 s: without the oldest run 2 s are left, still the whole budget, so the
    # run that finished a second later must age out of the hour too.
    assert refusal(limits, clock).retry_after_seconds == 3_600 - 1


def test_cpu_budget_resets_after_an_hour(clock: FakeClock) -> None:
    """CPU time booked more than an hour ago no longer counts."""
    limits = limiter(cpu_seconds_per_hour=2)
    permit = limits.admit(AGENT, clock.now_ms())
    clock.advance(1_000)
    permit.finish(3_000, clock.now_ms())
    clock.advance(1_000)
    assert refusal(limits, clock).retry_after_seconds == 3599
    clock.advance(3_599_001)
    limits.admit(AGENT, clock.now_ms())


def test_charged_cpu_counts_with_the_cpu_of_permits(clock: FakeClock) -> None:
    """CPU charged without a permit (a run started after its approval) adds to the budget."""
    limits = limiter(cpu_seconds_per_hour=2)
    limits.admit(AGENT, clock.now_ms()).finish(1_000, clock.now_ms())
    limits.charge(AGENT.name, 1_000, clock.now_ms())
    refusal(limits, clock)


def test_a_cancelled_run_frees_its_slot_and_pays_its_cpu(clock: FakeClock) -> None:
    """A run cancelled after using CPU returns its slot and still pays for what it used."""
    limits = limiter(concurrent=1, cpu_seconds_per_hour=1)
    permit = limits.admit(AGENT, clock.now_ms())
    clock.advance(2_500)  # the caller's deadline passes while the run spins
    permit.finish(1_200, clock.now_ms())
    assert "CPU-seconds per hour" in refusal(limits, clock).message


def test_charging_takes_no_concurrent_slot(clock: FakeClock) -> None:
    """Charged CPU is only booked: it does not count as a running call."""
    limits = limiter(concurrent=1)
    limits.charge(AGENT.name, 1_000, clock.now_ms())
    limits.admit(AGENT, clock.now_ms())


def test_limits_are_per_principal(clock: FakeClock) -> None:
    """One caller at its limit does not hold back another."""
    limits = limiter(invocations_per_minute=1, concurrent=1, cpu_seconds_per_hour=1)
    limits.admit(AGENT, clock.now_ms()).finish(5_000, clock.now_ms())
    refusal(limits, clock, AGENT)
    limits.admit(OTHER, clock.now_ms())


def test_limits_are_looked_up_at_each_admission(clock: FakeClock) -> None:
    """A changed limit (a reloaded configuration) applies to the very next call."""
    current = [RateLimits()]
    limits = RateLimiter(lambda who: current[0])
    limits.admit(AGENT, clock.now_ms())
    current[0] = RateLimits(concurrent=1)
    refusal(limits, clock)
