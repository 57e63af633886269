"""Quarantine's pure core: which results trip the sandbox, and the sliding window that counts
trips per skill content (a fake clock moves time)."""

from __future__ import annotations

from dataclasses import replace

from runtime.core.quarantine import (
    AUTOMATIC,
    Quarantine,
    QuarantineSettings,
    TripCounter,
    TripKind,
    result_trips,
)
from runtime.sandbox.result import Status, failed_result
from tests.fakes import FakeClock

KEY = ("probe", "sha256:aaaa")


def counter(**thresholds: int) -> TripCounter:
    settings = QuarantineSettings(
        window_ms=60_000, thresholds={TripKind(k): v for k, v in thresholds.items()}
    )
    return TripCounter(settings)


def test_each_listed_kind_of_end_is_a_trip() -> None:
    """Seccomp, memory, pids, output flood and invalid output ends are trips, each once."""
    seccomp = replace(
        failed_result(Status.SECCOMP_VIOLATION, ""),
        violations=("seccomp: python3 (pid 2) was killed for calling unshare",),
    )
    assert result_trips(seccomp) == (TripKind.SECCOMP,)
    memory = replace(
        failed_result(Status.MEMORY_LIMIT, ""),
        violations=("memory limit: 1 process(es) killed by the OOM killer",),
    )
    assert result_trips(memory) == (TripKind.MEMORY,)
    forks = replace(failed_result(Status.OK, ""), violations=("pids limit: 3 fork(s) refused",))
    assert result_trips(forks) == (TripKind.PIDS,)
    assert result_trips(failed_result(Status.OUTPUT_LIMIT, "")) == (TripKind.OUTPUT,)
    assert result_trips(failed_result(Status.INVALID_OUTPUT, "")) == (TripKind.INVALID_OUTPUT,)


def test_ordinary_failures_are_no_trips() -> None:
    """A nonzero exit, a timeout, a CPU limit, a cancellation or a denial trips nothing."""
    for status in (
        Status.OK,
        Status.NONZERO_EXIT,
        Status.TIMEOUT,
        Status.CPU_LIMIT,
        Status.CANCELLED,
        Status.DENIED,
        Status.SANDBOX_ERROR,
    ):
        assert result_trips(failed_result(status, "")) == (), status


def test_the_threshold_th_trip_within_the_window_crosses() -> None:
    """Below the threshold nothing happens; the trip that reaches it is a crossing that says
    how many, in what window, against what threshold."""
    trips, clock = counter(seccomp_kills=3), FakeClock()
    assert trips.add(KEY, [TripKind.SECCOMP], clock.now_ms()) is None
    clock.advance(1000)
    assert trips.add(KEY, [TripKind.SECCOMP], clock.now_ms()) is None
    crossing = trips.add(KEY, [TripKind.SECCOMP], clock.now_ms())
    assert crossing is not None
    assert crossing.reason == "3 seccomp kills in 60 s (threshold 3)"
    assert crossing.counts == {"seccomp_kills": 3}


def test_trips_older_than_the_window_no_longer_count() -> None:
    """A trip slides out of the window: spread-out trips never cross."""
    trips, clock = counter(memory_limit=2), FakeClock()
    for _ in range(5):
        assert trips.add(KEY, [TripKind.MEMORY], clock.now_ms()) is None
        clock.advance(60_000)


def test_a_threshold_of_zero_turns_its_kind_off() -> None:
    """With the egress threshold at 0, no number of denials crosses."""
    trips, clock = counter(egress_denials=0), FakeClock()
    assert all(trips.add(KEY, [TripKind.EGRESS], clock.now_ms()) is None for _ in range(100))


def test_disabled_settings_never_cross() -> None:
    """enabled = false: nothing is counted, whatever the thresholds."""
    trips, clock = counter(seccomp_kills=1), FakeClock()
    trips.settings = replace(trips.settings, enabled=False)
    assert trips.add(KEY, [TripKind.SECCOMP], clock.now_ms()) is None


def test_kinds_and_contents_are_counted_apart() -> None:
    """Trips of another kind, or of the skill's other content, do not add up."""
    trips, clock = counter(seccomp_kills=2, memory_limit=2), FakeClock()
    assert trips.add(KEY, [TripKind.SECCOMP], clock.now_ms()) is None
    assert trips.add(KEY, [TripKind.MEMORY], clock.now_ms()) is None
    assert trips.add(("probe", "sha256:bbbb"), [TripKind.SECCOMP], clock.now_ms()) is None
    crossing = trips.add(KEY, [TripKind.MEMORY], clock.now_ms())
    assert crossing is not None and crossing.kind is TripKind.MEMORY
    assert crossing.counts == {"seccomp_kills": 1, "memory_limit": 2}


def test_reset_starts_the_count_over() -> None:
    """After a reset (a quarantine, a release) the count starts from nothing."""
    trips, clock = counter(seccomp_kills=2), FakeClock()
    trips.add(KEY, [TripKind.SECCOMP], clock.now_ms())
    trips.reset(KEY)
    assert trips.add(KEY, [TripKind.SECCOMP], clock.now_ms()) is None


def test_refusal_names_when_why_and_how_to_release() -> None:
    """The refusal says since when, who, why, and the command that releases it."""
    quarantine = Quarantine(
        skill="probe",
        content_hash="sha256:aaaa",
        kind="seccomp_kills",
        reason="12 seccomp kills in 60 s (threshold 10)",
        counts={"seccomp_kills": 12},
        since_ms=1_700_000_000_000,
        by=AUTOMATIC,
    )
    assert quarantine.refusal() == (
        "quarantined since 2023-11-14 22:13:20Z automatically: 12 seccomp kills in 60 s "
        "(threshold 10); an operator can release it: skillrt skills release probe"
    )
