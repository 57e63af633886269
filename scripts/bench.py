"""Latency, throughput and memory of skillrt against its baselines, side by side in one run.

Rows, each for a trivial Python tool and for /bin/true:
  reference       `/usr/bin/python3 -I -S -c pass` on the host: the yardstick of every ratio;
  bare            the tool as a plain subprocess on the host, no isolation;
  nsjail          raw nsjail with exactly the flags the default profile renders (no cgroups);
  daemon-cold     Invoke over gRPC on the daemon's Unix socket, warm pool off;
  daemon-warm     the same with the warm pool on (its default), pool hits reported per row.
Latency back to back and with 200 ms pauses, throughput with 1, 4, 8 and 16 clients, the
daemon's memory, and the project's targets with the value measured for each. The host rows run
with no daemon up, and each daemon runs alone around its own rows: the machine has two cores.
Prints the tables (scripts/bench_report.py) and writes the results as JSON (--out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import grpc
from bench_daemon import (
    COMMANDS,
    PYTHON,
    Call,
    CallFailed,
    DaemonUnderTest,
    write_skill,
)
from bench_report import CLIENTS, REFERENCE, hit_ratio, percentiles, render, targets
from google.protobuf.json_format import MessageToDict

from runtime.sandbox.nsjail import SANDBOX_UID, SandboxSpec, find_nsjail, render_argv
from runtime.sandbox.profiles import ProfileStore
from runtime.util.paths import PROJECT_ROOT as ROOT

__all__ = ["main"]

REFERENCE_ARGV = [PYTHON, "-I", "-S", "-c", "pass"]
PAUSE = 0.2
Pool = Callable[[], tuple[int, int]]  # the pool's hits and misses so far, for one tool


@dataclass(frozen=True, kw_only=True)
class Settings:
    count: int  # back-to-back calls per row
    paused_count: int  # calls per row with a pause before each
    seconds: float  # length of one throughput run
    warm_calls: int = 5  # calls before a row is measured (caches, connections, the pool)
    refill: float = 1.0  # seconds the warm pool gets to fill before a measurement


def measure(call: Call, count: int, pause: float = 0.0) -> dict[str, float]:
    samples = []
    for _ in range(count):
        if pause:
            time.sleep(pause)
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def throughput(make_call: Callable[[], Call], clients: int, seconds: float) -> float:
    calls = [make_call() for _ in range(clients)]  # connected before the clock starts
    done = [0] * clients
    failures: list[Exception] = []
    stop = time.monotonic() + seconds

    def worker(index: int) -> None:
        try:
            while time.monotonic() < stop:
                calls[index]()
                done[index] += 1
        except Exception as exc:  # raised again below, in the thread that reports
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return sum(done) / (time.monotonic() - started)


def subprocess_call(argv: list[str]) -> Call:
    def call() -> None:
        subprocess.run(
            argv, input=b"{}", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )

    return call


class Bench:
    """One run: measures rows into ``results`` in the order that keeps them apart."""

    def __init__(self, settings: Settings, work: Path) -> None:
        self.settings = settings
        self.work = work
        self.catalog = work / "catalog"
        write_skill(self.catalog)
        self.results: dict[str, Any] = {
            "machine": _machine(),
            "settings": {
                "count": settings.count,
                "paused_count": settings.paused_count,
                "seconds": settings.seconds,
            },
            "latency_ms": {},
            "latency_paused_ms": {},
            "throughput_per_s": {},
            "pool_hit_ratio": {},
            "memory": {"daemon_rss_idle_bytes": {}},
            "notes": [],
        }

    def row(self, key: str, make: Callable[[], Call], pool: Pool | None = None) -> None:
        """Latency back to back, with pauses, then throughput; ``pool`` counts warm-pool hits."""
        print(f"bench: {key} ...", file=sys.stderr, flush=True)
        try:
            self._row(key, make, pool)
        except (CallFailed, subprocess.CalledProcessError, grpc.RpcError) as exc:
            raise SystemExit(f"bench: {key} fails, so its times would mean nothing: {exc}") from exc

    def _row(self, key: str, make: Callable[[], Call], pool: Pool | None) -> None:
        call, s = make(), self.settings
        hits: dict[str, float | None] = {}
        for _ in range(s.warm_calls):
            call()

        def counted(step: str, run: Callable[[], Any]) -> Any:
            if pool is None:
                return run()
            time.sleep(s.refill)  # each measurement starts with the pool as full as it gets
            before = pool()
            value = run()
            hits[step] = hit_ratio(before, pool())
            return value

        paused = partial(measure, call, s.paused_count, pause=PAUSE)
        self.results["latency_ms"][key] = counted("back_to_back", partial(measure, call, s.count))
        self.results["latency_paused_ms"][key] = counted("paused", paused)
        self.results["throughput_per_s"][key] = {
            str(n): counted(f"thr@{n}", partial(throughput, make, n, s.seconds)) for n in CLIENTS
        }
        if pool is not None:
            self.results["pool_hit_ratio"][key] = hits

    def host_rows(self) -> None:
        profile = ProfileStore(ROOT / "sandbox_profiles").get("default")
        nsjail = find_nsjail()
        binds = tuple(b for b in profile.filesystem.readonly_binds if os.path.exists(b.source))
        self.row(REFERENCE, partial(subprocess_call, REFERENCE_ARGV))
        for name, command in COMMANDS.items():
            spec = SandboxSpec(argv=tuple(command), profile=profile, limits=profile.limits)
            # As root, mapped to the sandbox user: the jail without the daemon's per-sandbox uid.
            raw = render_argv(spec, nsjail=nsjail, binds=binds, host_uid=SANDBOX_UID)
            self.row(f"{name}/bare", partial(subprocess_call, command))
            self.row(f"{name}/nsjail", partial(subprocess_call, raw))

    def cold_rows(self) -> None:
        config = self.work / "pool-off.toml"
        config.write_text("[pool]\nenabled = false\n")
        daemon = self._start("cold", config)
        try:
            if daemon.pool_status().enabled:
                raise SystemExit("bench: the pool-off daemon reports its pool enabled")
            for name in COMMANDS:
                self.row(f"{name}/daemon-cold", partial(daemon.caller, name))
        finally:
            daemon.stop()

    def warm_rows(self) -> None:
        config = self.work / "pool-on.toml"
        config.write_text("[pool]\nenabled = true\n")
        daemon = self._start("warm", config)
        try:
            if not daemon.pool_status().enabled:
                raise SystemExit("bench: the pool-on daemon reports its pool disabled")
            for name in COMMANDS:
                self.row(
                    f"{name}/daemon-warm",
                    partial(daemon.caller, name),
                    pool=partial(daemon.pool_counts, name),
                )
            time.sleep(self.settings.refill)
            status = daemon.pool_status()
            self.results["memory"].update(
                daemon_rss_pool_warm_bytes=daemon.rss(),
                pool_ready=status.ready,
                pool_memory_bytes=status.memory_bytes,
                pool_memory_budget_bytes=status.memory_budget_bytes,
            )
            # Every entry, zeros included, to check the tables by hand.
            self.results["pool_status"] = MessageToDict(
                status, always_print_fields_with_no_presence=True
            )
        finally:
            daemon.stop()

    def _start(self, name: str, config: Path | None) -> DaemonUnderTest:
        print(f"bench: starting the {name} daemon ...", file=sys.stderr, flush=True)
        daemon = DaemonUnderTest(self.work, self.catalog, name, config)
        time.sleep(self.settings.refill)  # start-up work (and a pool filling) settles first
        self.results["memory"]["daemon_rss_idle_bytes"][name] = daemon.rss()
        return daemon


def _machine() -> dict[str, Any]:
    version = subprocess.run(
        [PYTHON, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "reference": f"{PYTHON} {version}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", default="bench-results.json", help="JSON output file")
    parser.add_argument("--quick", action="store_true", help="few samples: a smoke run")
    parser.add_argument("--count", type=int, help="back-to-back calls per row")
    parser.add_argument("--paused-count", type=int, help="calls per row with 200 ms pauses")
    parser.add_argument("--seconds", type=float, help="length of each throughput run")
    args = parser.parse_args()
    preset = (20, 10, 0.5) if args.quick else (100, 50, 2.0)
    settings = Settings(
        count=args.count or preset[0],
        paused_count=args.paused_count or preset[1],
        seconds=args.seconds or preset[2],
    )
    work = Path(tempfile.mkdtemp(prefix="skillrt-bench-"))
    started = time.monotonic()
    try:
        bench = Bench(settings, work)
        bench.host_rows()
        bench.cold_rows()
        bench.warm_rows()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = bench.results
    results["targets"] = [t.as_json() for t in targets(results)]
    results["seconds"] = round(time.monotonic() - started, 1)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\n{results['seconds']} s; written to {args.out}")


if __name__ == "__main__":
    main()
