"""The pure half of the benchmark: percentiles, ratios, targets and the printed tables.

Everything here reads the results dictionary that scripts/bench.py writes as JSON, so a saved
run can be rendered again and the arithmetic is tested without timing anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CLIENTS",
    "REFERENCE",
    "ROWS",
    "Target",
    "hit_ratio",
    "percentiles",
    "ratio",
    "render",
    "targets",
]

REFERENCE = "reference"
# Printed in this order; a row that was not measured prints as dashes.
ROWS = (
    REFERENCE,
    "python/bare",
    "python/nsjail",
    "python/daemon-cold",
    "python/daemon-warm",
    "true/bare",
    "true/nsjail",
    "true/daemon-cold",
    "true/daemon-warm",
)
CLIENTS = (1, 4, 8, 16)
MIB = 1024 * 1024

Results = Mapping[str, Any]


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds of ``samples`` in seconds, by nearest rank."""
    ordered = sorted(samples)

    def rank(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "n": len(ordered)}


def ratio(value: float | None, base: float | None) -> float | None:
    """``value / base``, or None when either is missing (or the base is zero)."""
    if value is None or not base:
        return None
    return value / base


def hit_ratio(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    """The share of pool hits between two (hits, misses) counts; None if nothing was taken."""
    hits, misses = after[0] - before[0], after[1] - before[1]
    return hits / (hits + misses) if hits + misses else None


@dataclass(frozen=True, kw_only=True)
class Target:
    name: str
    how: str  # what was divided by what, so a reader can check the number in the tables
    measured: float | None
    limit: float
    unit: str  # "x" (a ratio) or "MiB"
    at_least: bool = False

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "how": self.how,
            "measured": self.measured,
            "limit": self.limit,
            "unit": self.unit,
            "met": self.met,
        }


def _stat(results: Results, table: str, row: str, stat: str) -> float | None:
    value = results.get(table, {}).get(row, {}).get(stat)
    return None if value is None else float(value)


def _rss_per_sandbox(memory: Mapping[str, Any]) -> float | None:
    ready, used = memory.get("pool_ready"), memory.get("pool_memory_bytes")
    return used / ready / MIB if ready and used is not None else None


def _rss_idle(memory: Mapping[str, Any]) -> float | None:
    # Whichever daemon is bigger at rest: the limit holds for either configuration.
    idle = [v for v in memory.get("daemon_rss_idle_bytes", {}).values() if v is not None]
    return max(idle) / MIB if idle else None


def targets(results: Results) -> list[Target]:
    """The issue's targets, each with the value this run measured (None: not measured)."""
    warm, cold, raw = "python/daemon-warm", "python/daemon-cold", "python/nsjail"
    paused, b2b = "latency_paused_ms", "latency_ms"
    reference = _stat(results, paused, REFERENCE, "p50")
    throughput = results.get("throughput_per_s", {})
    memory = results.get("memory", {})
    return [
        Target(
            name="pool hit Invoke p50 <= 0.5x reference",
            how=f"{warm} paused p50 / {REFERENCE} paused p50",
            measured=ratio(_stat(results, paused, warm, "p50"), reference),
            limit=0.5,
            unit="x",
        ),
        Target(
            name="pool hit Invoke p99 <= 1.0x reference",
            how=f"{warm} paused p99 / {REFERENCE} paused p50",
            measured=ratio(_stat(results, paused, warm, "p99"), reference),
            limit=1.0,
            unit="x",
        ),
        Target(
            name="cold Invoke p50 <= 1.2x raw nsjail",
            how=f"{cold} p50 / {raw} p50, back to back",
            measured=ratio(_stat(results, b2b, cold, "p50"), _stat(results, b2b, raw, "p50")),
            limit=1.2,
            unit="x",
        ),
        Target(
            name="throughput at 4 clients >= 1.0x raw nsjail",
            how=f"{warm} / {raw}, calls/s with 4 clients",
            measured=ratio(throughput.get(warm, {}).get("4"), throughput.get(raw, {}).get("4")),
            limit=1.0,
            unit="x",
            at_least=True,
        ),
        Target(
            name="daemon RSS idle <= 100 MiB",
            how="VmRSS after start, no calls (the larger of pool off and pool on)",
            measured=_rss_idle(memory),
            limit=100,
            unit="MiB",
        ),
        Target(
            name="memory per warm sandbox <= 15 MiB",
            how="pool memory_bytes / ready (cgroup memory of the warm sandboxes)",
            measured=_rss_per_sandbox(memory),
            limit=15,
            unit="MiB",
        ),
    ]


def _num(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "-" if value is None else f"{value:.{digits}f}{suffix}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value / MIB:.1f} MiB"


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> list[str]:
    """Aligned columns: ``align`` has "l" or "r" per column; by default names left, numbers
    right."""
    align = align or "l" + "r" * (len(header) - 1)
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        fitted = zip(cells, widths, align, strict=True)
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in fitted)

    return [line(header), *(line(r) for r in rows)]


def _raw_row(row: str) -> str:
    return f"{row.split('/')[0]}/nsjail"


def _latency(results: Results) -> list[str]:
    header = ["latency ms", "p50", "p95", "p99", "paused p50", "p95", "p99"]
    header += ["x ref", "paused", "x nsjail", "paused"]
    rows = []
    for row in ROWS:
        cells = [row]
        for table in ("latency_ms", "latency_paused_ms"):
            cells += [_num(_stat(results, table, row, s), 2) for s in ("p50", "p95", "p99")]
        for base in (REFERENCE, _raw_row(row)):
            for table in ("latency_ms", "latency_paused_ms"):
                mine, theirs = _stat(results, table, row, "p50"), _stat(results, table, base, "p50")
                cells.append(_num(ratio(mine, theirs), 2, "x"))
        rows.append(cells)
    legend = [
        "ms; paused: 200 ms before each call (p99 of fewer than 100 calls is their slowest);",
        "x ref, x nsjail: p50 over the reference's p50, over the same tool's raw nsjail p50",
    ]
    return [*_grid(header, rows), *legend]


def _throughput(results: Results) -> list[str]:
    header = ["calls/s", *(f"{n} client" if n == 1 else str(n) for n in CLIENTS)]
    header += [f"{'x nsjail ' if n == 1 else ''}@{n}" for n in CLIENTS]
    rows = []
    for row in ROWS:
        mine = results.get("throughput_per_s", {}).get(row, {})
        raw = results.get("throughput_per_s", {}).get(_raw_row(row), {})
        cells = [row, *(_num(mine.get(str(n)), 0) for n in CLIENTS)]
        cells += [_num(ratio(mine.get(str(n)), raw.get(str(n))), 2, "x") for n in CLIENTS]
        rows.append(cells)
    legend = "calls/s with 1, 4, 8 and 16 clients calling back to back; x nsjail: over raw nsjail"
    return [*_grid(header, rows), legend]


def _pool(results: Results) -> list[str]:
    header = ["pool hits", "back to back", "paused", *(f"thr@{n}" for n in CLIENTS)]
    rows = []
    for row, hits in results.get("pool_hit_ratio", {}).items():
        steps = ("back_to_back", "paused", *(f"thr@{n}" for n in CLIENTS))
        rows.append([row, *(_percent(hits.get(step)) for step in steps)])
    if not rows:
        return ["pool hits: not measured"]
    legend = "hits / (hits + misses) during each measurement, from the pool's counters"
    return [*_grid(header, rows), legend]


def _memory(results: Results) -> list[str]:
    memory = results.get("memory", {})
    idle = memory.get("daemon_rss_idle_bytes", {})
    per_sandbox = _rss_per_sandbox(memory)
    return _grid(
        ["memory", "value"],
        [
            ["daemon RSS idle, pool off", _mib(idle.get("cold"))],
            ["daemon RSS idle, pool on", _mib(idle.get("warm"))],
            ["daemon RSS, pool warm", _mib(memory.get("daemon_rss_pool_warm_bytes"))],
            ["warm sandboxes ready", str(memory.get("pool_ready", "-"))],
            ["warm sandboxes' memory", _mib(memory.get("pool_memory_bytes"))],
            ["pool memory budget", _mib(memory.get("pool_memory_budget_bytes"))],
            ["per warm sandbox", _num(per_sandbox, 1, " MiB")],
        ],
    )


def _targets(results: Results) -> list[str]:
    verdict = {True: "met", False: "MISSED", None: "not measured"}
    rows = [
        [
            t.name,
            _num(t.measured, 2, "x") if t.unit == "x" else _num(t.measured, 1, " MiB"),
            verdict[t.met],
            t.how,
        ]
        for t in targets(results)
    ]
    return _grid(["targets", "measured", "", "how"], rows, align="lrll")


def render(results: Results) -> str:
    """Every table of a run, as printed by ``make bench`` and shown in the README."""
    machine = results["machine"]
    settings = results["settings"]
    lines = [
        f"machine: {machine['cpus']} CPUs, kernel {machine['kernel']}, "
        f"reference {machine['reference']}",
        f"samples: {settings['count']} back to back, {settings['paused_count']} with 200 ms "
        f"pauses; throughput runs of {settings['seconds']} s",
        "",
        *_latency(results),
        "",
        *_throughput(results),
        "",
        *_pool(results),
        "",
        *_memory(results),
        "",
        *_targets(results),
    ]
    notes = results.get("notes", [])
    if notes:
        lines += ["", *(f"note: {note}" for note in notes)]
    return "\n".join(line.rstrip() for line in lines)
