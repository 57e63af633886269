"""Latency and throughput of skillrt against its baselines, side by side in one run.

Paths measured, each for /bin/true and for a trivial Python tool:
  (a) bare      a plain subprocess on the host, no isolation;
  (b) nsjail    raw nsjail with exactly the flags the default profile renders (no cgroups);
  (c) exec      `skillrt exec` / `skillrt run`, a new CLI process per call;
  (d) daemon    Invoke over gRPC on the daemon's Unix socket.
Sequential latency (back to back, and with pauses between calls), then throughput with 1, 4 and 8
concurrent clients. Prints a table with ratios to (a) and (b) and writes JSON (--out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.sandbox.nsjail import SANDBOX_UID, SandboxSpec, find_nsjail, render_argv
from runtime.sandbox.profiles import ProfileStore
from runtime.util.paths import PROJECT_ROOT as ROOT

PY_CODE = "import json, sys; json.dump({'n': len(sys.stdin.read())}, sys.stdout)"
COMMANDS = {"true": ["/bin/true"], "python": ["/usr/bin/python3", "-c", PY_CODE]}
SKILL_MD = "---\nname: bench\ndescription: Benchmark tools.\n---\n"
_ESCAPED_CODE = PY_CODE.replace('"', '\\"')
SKILL_TOML = f"""version = "1.0.0"
profile = "default"

[[tools]]
name = "true"
entrypoint = ["/bin/true"]
input_schema = {{ type = "object" }}

[[tools]]
name = "python"
entrypoint = ["/usr/bin/python3", "-c", "{_ESCAPED_CODE}"]
input_schema = {{ type = "object" }}
"""

Call = Callable[[], None]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "n": len(ordered)}


def measure(call: Call, count: int, pause: float = 0.0) -> dict[str, float]:
    call()  # warm-up
    samples = []
    for _ in range(count):
        if pause:
            time.sleep(pause)
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def throughput(make_call: Callable[[], Call], clients: int, seconds: float) -> float:
    done = [0] * clients
    stop = time.monotonic() + seconds

    def worker(index: int) -> None:
        call = make_call()
        while time.monotonic() < stop:
            call()
            done[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


def run_quiet(argv: list[str], stdin: bytes = b"{}") -> None:
    subprocess.run(
        argv, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )


class DaemonUnderTest:
    def __init__(self, work: Path) -> None:
        catalog = work / "catalog" / "bench"
        catalog.mkdir(parents=True)
        (catalog / "SKILL.md").write_text(SKILL_MD)
        (catalog / "skill.toml").write_text(SKILL_TOML)
        self.socket = work / "skillrt.sock"
        self.token = subprocess.run(
            [sys.executable, "-m", "runtime.cli.main", "init", "--state-dir", str(work / "state")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runtime.cli.main",
                "--catalog",
                str(work / "catalog"),
                "serve",
                "--socket",
                str(self.socket),
                "--state-dir",
                str(work / "state"),
                "--cgroup-root",
                f"skillrt-bench-{os.getpid()}",
                "--max-running",
                "16",
                "--max-queued",
                "64",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("bench: the daemon did not start")
            time.sleep(0.05)

    def caller(self, tool: str) -> Call:
        channel = grpc.insecure_channel(f"unix:{self.socket}")
        stub = pb_grpc.SkillRuntimeStub(channel)  # type: ignore[no-untyped-call]
        request = pb.InvokeRequest(skill="bench", tool=tool, input_json="{}")
        metadata = (("authorization", f"Bearer {self.token}"),)

        def call() -> None:
            stub.Invoke(request, timeout=60, metadata=metadata)

        return call

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench-results.json", help="JSON output file")
    parser.add_argument("--count", type=int, default=100, help="sequential calls per path")
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="duration of each throughput run"
    )
    args = parser.parse_args()

    profile = ProfileStore(ROOT / "sandbox_profiles").get("default")
    nsjail = find_nsjail()
    skillrt = [sys.executable, "-m", "runtime.cli.main"]
    work = Path(tempfile.mkdtemp(prefix="skillrt-bench-"))
    work.chmod(0o755)
    daemon = DaemonUnderTest(work)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
        },
        "latency_ms": {},
        "latency_paused_ms": {},
        "throughput_per_s": {},
    }
    try:
        for name, command in COMMANDS.items():
            spec = SandboxSpec(argv=tuple(command), profile=profile, limits=profile.limits)
            binds = tuple(b for b in profile.filesystem.readonly_binds if os.path.exists(b.source))
            # As root, mapped to the sandbox user: the jail without the daemon's per-sandbox uid.
            raw = render_argv(spec, nsjail=nsjail, binds=binds, host_uid=SANDBOX_UID)
            paths: dict[str, Callable[[], Call]] = {
                "a_bare": lambda c=command: lambda: run_quiet(c),
                "b_nsjail": lambda r=raw: lambda: run_quiet(r),
                "c_exec": lambda c=command: lambda: run_quiet([*skillrt, "exec", "--", *c]),
                "d_daemon": lambda n=name: daemon.caller(n),
            }
            for path, make in paths.items():
                key = f"{name}/{path}"
                count = args.count if path != "c_exec" else max(10, args.count // 5)
                print(f"bench: {key} ...", file=sys.stderr, flush=True)
                results["latency_ms"][key] = measure(make(), count)
                results["latency_paused_ms"][key] = measure(make(), max(10, count // 5), pause=0.2)
                results["throughput_per_s"][key] = {
                    str(n): throughput(make, n, args.seconds) for n in (1, 4, 8)
                }
    finally:
        daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(render_table(results))
    print(f"\nwritten to {args.out}")


def render_table(results: dict[str, Any]) -> str:
    lines = [
        f"machine: {results['machine']['cpus']} CPUs, kernel {results['machine']['kernel']}, "
        f"Python {results['machine']['python']}",
        "",
        f"{'command/path':<18}{'p50':>8}{'p95':>8}{'p99':>8}{'paused p50':>12}"
        f"{'x bare':>8}{'x nsjail':>9}{'thr@1':>8}{'thr@4':>8}{'thr@8':>8}",
    ]
    for key, lat in results["latency_ms"].items():
        command = key.split("/")[0]
        bare = results["latency_ms"][f"{command}/a_bare"]["p50"]
        raw = results["latency_ms"][f"{command}/b_nsjail"]["p50"]
        paused = results["latency_paused_ms"][key]["p50"]
        thr = results["throughput_per_s"][key]
        lines.append(
            f"{key:<18}{lat['p50']:>8.2f}{lat['p95']:>8.2f}{lat['p99']:>8.2f}{paused:>12.2f}"
            f"{lat['p50'] / bare:>8.1f}{lat['p50'] / raw:>9.2f}"
            f"{thr['1']:>8.0f}{thr['4']:>8.0f}{thr['8']:>8.0f}"
        )
    lines.append(
        "\nlatencies in ms (p50/p95/p99 back to back; 'paused' with 200 ms between calls);"
    )
    lines.append("throughput in calls/s with 1, 4 and 8 concurrent clients.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
