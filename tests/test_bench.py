"""The benchmark's arithmetic and tables, from fixed results: nothing here is timed."""

from __future__ import annotations

from typing import Any

import pytest

from scripts import bench_report as report

MIB = 1024 * 1024


def _lat(p50: float, p99: float | None = None) -> dict[str, float]:
    return {"p50": p50, "p95": p99 or p50, "p99": p99 or p50, "n": 100}


def _results() -> dict[str, Any]:
    """A run with every row, the warm ones included."""
    latency = {
        "reference": _lat(10.0),
        "python/bare": _lat(30.0),
        "python/nsjail": _lat(40.0),
        "python/daemon-cold": _lat(44.0),
        "python/daemon-warm": _lat(4.0),
        "true/bare": _lat(1.0),
        "true/nsjail": _lat(12.0),
        "true/daemon-cold": _lat(30.0),
        "true/daemon-warm": _lat(3.0),
    }
    paused = {row: _lat(value["p50"]) for row, value in latency.items()}
    paused["python/daemon-warm"] = _lat(2.0, p99=12.0)
    throughput = {row: {"1": 10.0, "4": 20.0, "8": 20.0, "16": 20.0} for row in latency}
    throughput["python/daemon-warm"] = {"1": 50.0, "4": 25.0, "8": 20.0, "16": 10.0}
    hits = {"back_to_back": 0.9, "paused": 1.0, "thr@1": 0.5, "thr@4": 0.25, "thr@8": None}
    return {
        "machine": {"cpus": 2, "kernel": "6.18", "python": "3.11", "reference": "python 3.11"},
        "settings": {"count": 100, "paused_count": 50, "seconds": 2.0},
        "latency_ms": latency,
        "latency_paused_ms": paused,
        "throughput_per_s": throughput,
        "pool_hit_ratio": {"python/daemon-warm": hits},
        "memory": {
            "daemon_rss_idle_bytes": {"cold": 60 * MIB, "warm": 70 * MIB},
            "daemon_rss_pool_warm_bytes": 72 * MIB,
            "pool_ready": 8,
            "pool_memory_bytes": 80 * MIB,
            "pool_memory_budget_bytes": 256 * MIB,
        },
        "notes": [],
    }


def test_percentiles_are_nearest_rank_in_milliseconds() -> None:
    """p50/p95/p99 of 1..100 seconds are the 50th, 95th and 99th value, in milliseconds."""
    samples = [n / 1000 for n in range(100, 0, -1)]  # 100 ms .. 1 ms, unsorted
    assert report.percentiles(samples) == {"p50": 50.0, "p95": 95.0, "p99": 99.0, "n": 100}


def test_percentiles_of_few_samples_take_the_slowest_for_p99() -> None:
    """With fewer than 100 samples p99 is the slowest one, never past the end."""
    assert report.percentiles([0.003, 0.001, 0.002])["p99"] == pytest.approx(3.0)
    assert report.percentiles([0.004]) == {"p50": 4.0, "p95": 4.0, "p99": 4.0, "n": 1}


def test_ratio_is_none_without_both_values() -> None:
    """A ratio needs a value and a non-zero base."""
    assert report.ratio(3.0, 4.0) == 0.75
    assert report.ratio(None, 4.0) is None
    assert report.ratio(3.0, None) is None
    assert report.ratio(3.0, 0.0) is None


def test_hit_ratio_counts_only_what_happened_between_the_two_readings() -> None:
    """Hits and misses before a measurement are subtracted; no calls taken is None."""
    assert report.hit_ratio((10, 2), (19, 3)) == 0.9
    assert report.hit_ratio((5, 5), (5, 5)) is None


def test_targets_measure_each_against_its_limit() -> None:
    """Each target divides the documented values and says met or missed."""
    found = {t.name: t for t in report.targets(_results())}
    hit_p50 = found["pool hit Invoke p50 <= 0.5x reference"]
    assert (hit_p50.measured, hit_p50.met) == (pytest.approx(0.2), True)
    hit_p99 = found["pool hit Invoke p99 <= 1.0x reference"]
    assert (hit_p99.measured, hit_p99.met) == (pytest.approx(1.2), False)
    cold = found["cold Invoke p50 <= 1.2x raw nsjail"]
    assert (cold.measured, cold.met) == (pytest.approx(1.1), True)
    throughput = found["throughput at 4 clients >= 1.0x raw nsjail"]
    assert (throughput.measured, throughput.met) == (pytest.approx(1.25), True)
    idle = found["daemon RSS idle <= 100 MiB"]
    assert (idle.measured, idle.met) == (pytest.approx(70.0), True)
    per_sandbox = found["memory per warm sandbox <= 15 MiB"]
    assert (per_sandbox.measured, per_sandbox.met) == (pytest.approx(10.0), True)


def test_throughput_target_is_a_floor() -> None:
    """Throughput below raw nsjail misses; exactly 1.0x meets it."""
    results = _results()
    results["throughput_per_s"]["python/daemon-warm"]["4"] = 19.0
    below = {t.name: t for t in report.targets(results)}
    assert below["throughput at 4 clients >= 1.0x raw nsjail"].met is False
    results["throughput_per_s"]["python/daemon-warm"]["4"] = 20.0
    equal = {t.name: t for t in report.targets(results)}
    assert equal["throughput at 4 clients >= 1.0x raw nsjail"].met is True


def test_targets_without_warm_rows_are_not_measured() -> None:
    """A run without the warm daemon leaves its targets unjudged, not met or missed."""
    results = _results()
    for table in ("latency_ms", "latency_paused_ms", "throughput_per_s"):
        del results[table]["python/daemon-warm"]
    results["pool_hit_ratio"] = {}
    results["memory"] = {"daemon_rss_idle_bytes": {"cold": 60 * MIB}}
    found = {t.name: t.met for t in report.targets(results)}
    assert found == {
        "pool hit Invoke p50 <= 0.5x reference": None,
        "pool hit Invoke p99 <= 1.0x reference": None,
        "cold Invoke p50 <= 1.2x raw nsjail": True,
        "throughput at 4 clients >= 1.0x raw nsjail": None,
        "daemon RSS idle <= 100 MiB": True,
        "memory per warm sandbox <= 15 MiB": None,
    }


def _row(text: str, section: str, name: str) -> list[str]:
    """The cells of row ``name`` in the table headed ``section`` (tables end at a blank line)."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(section))
    table = lines[first : lines.index("", first)] if "" in lines[first:] else lines[first:]
    [row] = [line for line in table if line.startswith(f"{name}  ")]
    return row[len(name) :].split()


def test_latency_rows_carry_percentiles_and_both_ratios() -> None:
    """p50/p95/p99 back to back and paused, then x reference and x raw nsjail in each mode."""
    cells = _row(report.render(_results()), "latency ms", "python/daemon-warm")
    assert cells[:6] == ["4.00", "4.00", "4.00", "2.00", "12.00", "12.00"]
    assert cells[6:] == ["0.40x", "0.20x", "0.10x", "0.05x"]


def test_throughput_rows_compare_with_raw_nsjail_per_client_count() -> None:
    """Calls per second at 1, 4, 8 and 16 clients, then each over raw nsjail's."""
    cells = _row(report.render(_results()), "calls/s", "python/daemon-warm")
    assert cells == ["50", "25", "20", "10", "5.00x", "1.25x", "1.00x", "0.50x"]


def test_missing_rows_print_dashes() -> None:
    """A row that was not measured prints dashes, so the table keeps its shape."""
    results = _results()
    del results["latency_ms"]["true/daemon-warm"], results["latency_paused_ms"]["true/daemon-warm"]
    assert _row(report.render(results), "latency ms", "true/daemon-warm") == ["-"] * 10


def test_pool_hits_print_as_percentages() -> None:
    """Hit ratios per measurement; a measurement with no pool reading prints a dash."""
    cells = _row(report.render(_results()), "pool hits", "python/daemon-warm")
    assert cells == ["90%", "100%", "50%", "25%", "-", "-"]


def test_memory_per_warm_sandbox_is_pool_memory_over_ready() -> None:
    """80 MiB held by 8 ready sandboxes is 10 MiB each."""
    text = report.render(_results())
    assert _row(text, "memory", "per warm sandbox") == ["10.0", "MiB"]
    assert _row(text, "memory", "daemon RSS idle, pool on") == ["70.0", "MiB"]


def test_targets_section_says_met_missed_or_not_measured() -> None:
    """Each target line shows the measured value and its verdict; notes come last."""
    results = _results()
    del results["memory"]["pool_ready"]
    results["notes"] = ["warm rows not measured: reason"]
    text = report.render(results)
    assert _row(text, "targets", "pool hit Invoke p50 <= 0.5x reference")[:2] == ["0.20x", "met"]
    assert _row(text, "targets", "pool hit Invoke p99 <= 1.0x reference")[:2] == [
        "1.20x",
        "MISSED",
    ]
    per_sandbox = _row(text, "targets", "memory per warm sandbox <= 15 MiB")
    assert per_sandbox[:3] == ["-", "not", "measured"]
    assert text.splitlines()[-1] == "note: warm rows not measured: reason"
