"""Resource limits stop runaway skills with a status that names the limit."""

from __future__ import annotations

import subprocess

from runtime.sandbox.result import Status

from .probes import Jail, explain, out, sandbox_processes_with, script, unique_token

_MIB = 1024 * 1024


def test_memory_bomb_is_memory_limit(jail: Jail) -> None:
    """Allocating past the memory limit ends the run as memory_limit."""
    result = jail.python(
        script("""
        hoard = []
        while True:
            hoard.append(bytearray(1024 * 1024))  # zero-filled, so every page is touched
    """),
        memory_bytes=32 * _MIB,
    )
    assert result.status is Status.MEMORY_LIMIT, explain(result)
    assert any(v.startswith("memory limit") for v in result.violations), explain(result)


def test_work_dir_files_count_against_memory(jail: Jail) -> None:
    """Filling the tmpfs work dir past the memory limit ends the run as memory_limit."""
    result = jail.python(
        script(f"""
        import os
        for index in range(8):
            fd = os.open(f"/tmp/fill{{index}}", os.O_CREAT | os.O_WRONLY, 0o600)
            for _ in range(8):
                os.write(fd, b"x" * {_MIB})
            os.close(fd)
        print("escaped")
    """),
        memory_bytes=24 * _MIB,
    )
    assert result.status is Status.MEMORY_LIMIT, explain(result)
    assert out(result) == ""


def test_fork_is_refused_at_the_pids_limit(jail: Jail) -> None:
    """fork fails with EAGAIN once the sandbox holds its pids limit of processes."""
    result = jail.python(
        script("""
        import os, signal
        children = []
        try:
            while True:
                pid = os.fork()
                if pid == 0:
                    signal.pause()
                children.append(pid)
        except OSError as exc:
            print(len(children) + 1, errno_name(exc))
        for pid in children:
            os.kill(pid, signal.SIGKILL)
    """),
        pids=8,
    )
    assert out(result) == "8 EAGAIN", explain(result)
    assert any(v.startswith("pids limit") for v in result.violations), explain(result)


def test_fork_bomb_is_contained(jail: Jail) -> None:
    """A fork bomb hits the pids limit, is killed at the wall time limit and leaves nothing."""
    marker = unique_token()
    result = jail.run(
        [
            "/usr/bin/python3",
            "-c",
            script("""
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """),
            marker,
        ],
        pids=8,
        wall_time_ms=1500,
    )
    assert result.status is Status.TIMEOUT, explain(result)
    assert any(v.startswith("pids limit") for v in result.violations), explain(result)
    assert sandbox_processes_with(marker) == []
    assert subprocess.run(["true"], check=False).returncode == 0  # the host can still fork


def test_busy_loop_is_cpu_limit(jail: Jail) -> None:
    """A busy loop is stopped as cpu_limit once it has used its (whole-second) CPU time."""
    result = jail.python("while True: pass", cpu_time_ms=1000)
    assert result.status is Status.CPU_LIMIT, explain(result)
    assert 1000 <= result.usage.cpu_ms < 2000, explain(result)


def test_cpu_rlimit_backstop_leaves_headroom(jail: Jail) -> None:
    """The per-process RLIMIT_CPU backstop lies above the CPU budget, so the watcher acts first."""
    budget_ms = 1000
    result = jail.python(
        "import resource; print(resource.getrlimit(resource.RLIMIT_CPU)[0])", cpu_time_ms=budget_ms
    )
    assert int(out(result)) * 1000 > budget_ms, explain(result)


def test_cpu_limit_counts_every_process(jail: Jail) -> None:
    """Two busy processes share one CPU budget: the run stops as cpu_limit, not per process."""
    result = jail.python(
        script("""
        import os
        os.fork()
        while True:
            pass
    """),
        cpu_time_ms=1000,
        wall_time_ms=10_000,
    )
    assert result.status is Status.CPU_LIMIT, explain(result)
    assert result.usage.cpu_ms < 3000, explain(result)


def test_sleep_is_timeout(jail: Jail) -> None:
    """A process that sleeps past the wall time limit is killed promptly as timeout."""
    result = jail.python("import time; time.sleep(60)", wall_time_ms=1000)
    assert result.status is Status.TIMEOUT, explain(result)
    assert 1000 <= result.usage.wall_ms < 3000, explain(result)


def test_stdout_flood_is_output_limit(jail: Jail) -> None:
    """Endless stdout is cut at exactly the output limit and ends the run as output_limit."""
    limit = 64 * 1024
    result = jail.python(
        script("""
        import sys
        while True:
            sys.stdout.buffer.write(b"x" * 65536)
    """),
        output_bytes=limit,
    )
    assert result.status is Status.OUTPUT_LIMIT, explain(result)
    assert len(result.stdout) == limit
    assert result.stdout_truncated is True


def test_stderr_flood_is_output_limit(jail: Jail) -> None:
    """Endless stderr is cut at exactly the output limit and ends the run as output_limit."""
    limit = 64 * 1024
    result = jail.python(
        script("""
        import sys
        while True:
            sys.stderr.buffer.write(b"e" * 65536)
    """),
        output_bytes=limit,
    )
    assert result.status is Status.OUTPUT_LIMIT, explain(result)
    assert len(result.stderr) == limit
    assert result.stderr_truncated is True
    assert result.stdout_truncated is False


def test_output_at_the_limit_is_not_truncated(jail: Jail) -> None:
    """Output of exactly the limit is delivered whole and the run is ok."""
    limit = 64 * 1024
    result = jail.python(f"import sys; sys.stdout.buffer.write(b'y' * {limit})", output_bytes=limit)
    assert result.status is Status.OK, explain(result)
    assert result.stdout == b"y" * limit
    assert result.stdout_truncated is False


def test_open_files_past_the_limit_is_emfile(jail: Jail) -> None:
    """Opening files past the open-files limit fails with EMFILE below the limit."""
    result = jail.python(
        script("""
        import os
        opened = []
        try:
            while True:
                opened.append(os.open("/dev/null", os.O_RDONLY))
        except OSError as exc:
            print(errno_name(exc), max(opened))
    """),
        open_files=32,
    )
    name, highest = out(result).split()
    assert name == "EMFILE", explain(result)
    assert int(highest) == 31, explain(result)


def test_limits_cannot_be_raised_from_inside(jail: Jail) -> None:
    """Raising the hard open-files limit from inside fails with EPERM."""
    # Through libc, not the resource module, which turns EPERM into a ValueError.
    result = jail.python(
        script("""
        import ctypes, resource
        class RLimit(ctypes.Structure):
            _fields_ = [("cur", ctypes.c_ulong), ("max", ctypes.c_ulong)]
        libc = ctypes.CDLL(None, use_errno=True)
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        rc = libc.setrlimit(resource.RLIMIT_NOFILE, ctypes.byref(RLimit(hard * 4, hard * 4)))
        failure = errno.errorcode.get(ctypes.get_errno(), 0)
        print(rc, failure, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    """),
        open_files=32,
    )
    assert out(result) == "-1 EPERM 32", explain(result)


def test_file_bigger_than_file_size_fails(jail: Jail) -> None:
    """Writing past the file size limit fails with EFBIG and the file stops at the limit."""
    result = jail.python(
        script(f"""
        import os
        fd = os.open("/tmp/big", os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            for _ in range(4):
                os.write(fd, b"z" * {_MIB})
            print("written")
        except OSError as exc:
            print(errno_name(exc), os.fstat(fd).st_size)
    """),
        file_size_bytes=2 * _MIB,
    )
    assert out(result) == f"EFBIG {2 * _MIB}", explain(result)


def test_usage_is_measured(jail: Jail) -> None:
    """A run that computes and holds 32 MiB reports plausible wall, CPU and peak memory use."""
    result = jail.python(
        script("""
        held = bytearray(32 * 1024 * 1024)
        total = sum(range(3_000_000))
    """)
    )
    assert result.status is Status.OK, explain(result)
    assert result.usage.cpu_ms > 0
    assert result.usage.wall_ms > 0
    assert 32 * _MIB <= result.usage.peak_memory_bytes <= jail.profile.limits.memory_bytes
