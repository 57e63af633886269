"""Forbidden system calls kill the sandbox as seccomp_violation; ordinary ones keep working."""

from __future__ import annotations

import re
import signal

import pytest

from runtime.sandbox.result import MAX_VIOLATIONS, Status
from runtime.sandbox.seccomp import CLONE_FLAGS, SOCKET_FAMILIES

from .probes import Jail, explain, out, script, syscall_number

_SOCK_STREAM = 1
_SOCK_RAW = 3
_SIGCHLD = int(signal.SIGCHLD)
_FLOOD = 100  # children killed in one run: far more lines than a result may carry

# Each attack: (syscall name, its six arguments). The arguments are harmless or invalid on
# purpose: the filter must kill on the call itself, whatever the kernel would have answered.
ATTACKS = {
    "ptrace": ("ptrace", (16, 1, 0, 0, 0, 0)),  # PTRACE_ATTACH to pid 1
    "bpf": ("bpf", (0, 0, 0, 0, 0, 0)),
    "io_uring_setup": ("io_uring_setup", (1, 0, 0, 0, 0, 0)),
    "unshare": ("unshare", (CLONE_FLAGS["CLONE_NEWNS"], 0, 0, 0, 0, 0)),
    "mount": ("mount", (0, 0, 0, 0, 0, 0)),
    "keyctl": ("keyctl", (0, 0, 0, 0, 0, 0)),
    "perf_event_open": ("perf_event_open", (0, 0, -1, -1, 0, 0)),
    "userfaultfd": ("userfaultfd", (0, 0, 0, 0, 0, 0)),
    "socket(AF_NETLINK)": ("socket", (SOCKET_FAMILIES["AF_NETLINK"], _SOCK_RAW, 0, 0, 0, 0)),
    "socket(AF_PACKET)": ("socket", (SOCKET_FAMILIES["AF_PACKET"], _SOCK_RAW, 0, 0, 0, 0)),
    "clone(CLONE_NEWUSER)": ("clone", (CLONE_FLAGS["CLONE_NEWUSER"] | _SIGCHLD, 0, 0, 0, 0, 0)),
}


def _raw_syscall(name: str, args: tuple[int, ...]) -> str:
    """Inner source that announces itself, then makes the raw system call and reports back."""
    return script(f"""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        args = [ctypes.c_long(a) for a in {args!r}]
        print("calling", flush=True)
        rc = libc.syscall(ctypes.c_long({syscall_number(name)}), *args)
        print("returned", rc, errno.errorcode.get(ctypes.get_errno(), 0), flush=True)
    """)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_forbidden_syscall_is_seccomp_violation(jail: Jail, attack: str) -> None:
    """The forbidden call kills the process with SIGSYS and the run is seccomp_violation."""
    name, args = ATTACKS[attack]
    result = jail.python(_raw_syscall(name, args))
    assert result.status is Status.SECCOMP_VIOLATION, explain(result)
    assert result.signal == signal.SIGSYS == 31
    assert out(result) == "calling", explain(result)
    assert any(v.startswith("seccomp") for v in result.violations), explain(result)


def test_forbidden_syscall_in_a_thread_kills_the_sandbox(jail: Jail) -> None:
    """A forbidden call from a secondary thread kills the whole process as seccomp_violation."""
    call = _raw_syscall("ptrace", ATTACKS["ptrace"][1])
    result = jail.python(
        script(f"""
        import threading, time
        threading.Thread(target=exec, args=({call!r}, {{}})).start()
        time.sleep(5)
        print("main thread survived")
    """)
    )
    assert result.status is Status.SECCOMP_VIOLATION, explain(result)
    assert out(result) == "calling", explain(result)


def test_forbidden_syscall_in_a_child_is_reported(jail: Jail) -> None:
    """A forbidden call in a forked child is reported as seccomp_violation naming the call,
    though PID 1 exits 0."""
    call = _raw_syscall("ptrace", ATTACKS["ptrace"][1])
    result = jail.python(
        script(f"""
        import os
        pid = os.fork()
        if pid == 0:
            exec({call!r})
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print("child signal", os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)
    """)
    )
    assert out(result).splitlines()[-1] == "child signal 31", explain(result)
    assert result.exit_code == 0, explain(result)
    assert result.status is Status.SECCOMP_VIOLATION, explain(result)
    assert any(v.endswith("killed for calling ptrace") for v in result.violations), explain(result)


def test_forbidden_syscall_in_a_grandchild_is_reported(jail: Jail) -> None:
    """A grandchild killed by the policy, reaped by its own parent, still makes the run a
    seccomp_violation naming the call."""
    grandchild = _raw_syscall("bpf", ATTACKS["bpf"][1])
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    result = jail.python(
        script(f"""
        import subprocess, sys
        print("child", subprocess.run([sys.executable, "-c", {child!r}]).returncode)
    """)
    )
    assert out(result).splitlines()[-1] == "child 0", explain(result)
    assert result.exit_code == 0, explain(result)
    assert result.status is Status.SECCOMP_VIOLATION, explain(result)
    assert any(v.endswith("killed for calling bpf") for v in result.violations), explain(result)


def test_policy_kill_of_pid_1_names_the_call(jail: Jail) -> None:
    """PID 1 killed by the policy is reported with the call it made."""
    name, args = ATTACKS["keyctl"]
    result = jail.python(_raw_syscall(name, args))
    assert result.status is Status.SECCOMP_VIOLATION, explain(result)
    assert any(v.endswith("killed for calling keyctl") for v in result.violations), explain(result)


def test_i386_syscall_abi_is_seccomp_violation(jail: Jail) -> None:
    """A 32-bit system call (int 0x80, even a harmless getpid) kills the sandbox."""
    result = jail.python(
        script("""
        import ctypes, mmap
        # mov eax, 20 (i386 getpid); int 0x80; ret
        code = bytes.fromhex("b814000000cd80c3")
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(code)
        call = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
        print("calling", flush=True)
        print("returned", call(), flush=True)
    """)
    )
    assert result.status is Status.SECCOMP_VIOLATION, explain(result)
    assert out(result) == "calling", explain(result)


def test_x32_syscall_abi_cannot_reach_ptrace(jail: Jail) -> None:
    """ptrace through the x32 ABI (nr | 0x40000000) is killed or unavailable, never run."""
    x32_ptrace = 0x40000000 | 521
    result = jail.python(
        script(f"""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        print("calling", flush=True)
        rc = libc.syscall(ctypes.c_long({x32_ptrace}), ctypes.c_long(0), 0, 0, 0)  # TRACEME
        print(rc, errno.errorcode.get(ctypes.get_errno(), 0), flush=True)
    """)
    )
    if result.status is Status.SECCOMP_VIOLATION:
        assert out(result) == "calling", explain(result)
    else:
        assert out(result).splitlines() == ["calling", "-1 ENOSYS"], explain(result)


def test_clone3_fails_softly_with_enosys(jail: Jail) -> None:
    """clone3 returns ENOSYS (so libc falls back to clone) instead of killing the sandbox."""
    result = jail.python(
        script(f"""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        rc = libc.syscall(ctypes.c_long({syscall_number("clone3")}), None, ctypes.c_long(0))
        print(rc, errno.errorcode.get(ctypes.get_errno(), 0))
    """)
    )
    assert result.status is Status.OK, explain(result)
    assert out(result) == "-1 ENOSYS"


def test_threads_work(jail: Jail) -> None:
    """Threads start, run and join normally."""
    result = jail.python(
        script("""
        import threading
        done = []
        threads = [threading.Thread(target=done.append, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(sorted(done))
    """)
    )
    assert result.status is Status.OK, explain(result)
    assert out(result) == "[0, 1, 2, 3]"


def test_fork_and_subprocess_work(jail: Jail) -> None:
    """fork and subprocess (exec of another program) work and report exit codes."""
    result = jail.python(
        script("""
        import os, subprocess
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        _, status = os.waitpid(pid, 0)
        echoed = subprocess.run(["/usr/bin/echo", "hi"], capture_output=True, check=True)
        print(os.waitstatus_to_exitcode(status), echoed.stdout.decode().strip())
    """)
    )
    assert result.status is Status.OK, explain(result)
    assert out(result) == "7 hi"


def test_inet_socket_is_allowed_in_default(jail: Jail) -> None:
    """The default profile lets a skill create an AF_INET socket."""
    result = jail.python(_raw_syscall("socket", (SOCKET_FAMILIES["AF_INET"], _SOCK_STREAM, 0)))
    assert result.status is Status.OK, explain(result)
    rc = int(out(result).splitlines()[-1].split()[1])
    assert rc >= 0, explain(result)


def test_inet_socket_is_seccomp_violation_in_minimal(minimal_jail: Jail) -> None:
    """The minimal profile kills a skill that creates any socket, even AF_INET."""
    code = _raw_syscall("socket", (SOCKET_FAMILIES["AF_INET"], _SOCK_STREAM, 0))
    result = minimal_jail.python(code)
    assert result.status is Status.SECCOMP_VIOLATION, explain(result)
    assert result.signal == signal.SIGSYS
    assert out(result) == "calling", explain(result)


def test_a_flood_of_killed_children_is_one_bounded_line(jail: Jail) -> None:
    """Children forked only to be killed make one violation line naming the call and the count,
    never a line each: the result (and the audit line recording it) stays small."""
    call = _raw_syscall("ptrace", ATTACKS["ptrace"][1])
    result = jail.python(
        script(f"""
        import os
        for _ in range(_CHILDREN):
            pid = os.fork()
            if pid == 0:
                exec({call!r})
                os._exit(0)
            os.waitpid(pid, 0)
        print("forked")
    """).replace("_CHILDREN", str(_FLOOD))
    )
    assert out(result).splitlines()[-1] == "forked", explain(result)
    assert result.status is Status.SECCOMP_VIOLATION, explain(result)
    assert len(result.violations) <= MAX_VIOLATIONS, explain(result)
    ptrace = [v for v in result.violations if "killed for calling ptrace" in v]
    assert len(ptrace) == 1, explain(result)
    assert re.fullmatch(
        r"seccomp: \d+ processes were killed for calling ptrace \(first: python3, pid \d+\)",
        ptrace[0],
    ), explain(result)
