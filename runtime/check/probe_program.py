"""The probe program of ``skillrt profile check``: it runs inside the sandbox, not in skillrt.

The runtime passes this file's text as ``python3 -c SOURCE CONFIG``, so only the standard library
is used: skillrt itself is not inside the sandbox. It is pure Python and uses only fork, because
the strictest profile has no shell and kills ``socket()``. Every probe that may be killed (a
denied syscall kills its process with SIGSYS) or that exhausts a limit runs in a forked child, and
the parent reports how that child ended. The program prints one JSON document: an observation
per probe key.

CONFIG is a JSON object: ``child_timeout_s``, and ``probes``, a list of
``[key, action, isolated, args]`` where ``action`` names one of the functions below.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import socket
import sys
from collections.abc import Callable

__all__ = [
    "connect",
    "env_others",
    "env_var",
    "exists",
    "file_size",
    "inet_socket",
    "list_dir",
    "list_names",
    "main",
    "memory",
    "open_files",
    "pids",
    "processes",
    "proxy_connect",
    "read_file",
    "resolve",
    "status_field",
    "syscall",
    "write_file",
]

_Report = dict[str, object]

_MIB = 1 << 20
# The report pipe of a forked probe, set in the child: one "." per MiB a probe got through, so
# that the parent can tell how far a child got before it was killed.
_PROGRESS = [-1]


def _ok(amount: int | None = None) -> _Report:
    return {"result": "ok", "amount": amount}


def _value(text: object) -> _Report:
    return {"result": "value", "detail": str(text)}


def _failure(exc: BaseException, amount: int | None = None) -> _Report:
    if isinstance(exc, socket.gaierror):
        names = [n for n in dir(socket) if n.startswith("EAI_") and getattr(socket, n) == exc.errno]
        detail = names[0] if names else "gaierror"
    elif isinstance(exc, OSError) and exc.errno:
        detail = errno.errorcode.get(exc.errno, str(exc.errno))
    else:
        detail = type(exc).__name__
    return {"result": "error", "detail": detail, "amount": amount}


def read_file(path: str) -> _Report:
    with open(path, "rb") as file:
        file.read(1)
    return _ok()


def list_dir(path: str) -> _Report:
    os.listdir(path)
    return _ok()


def write_file(path: str) -> _Report:
    with open(path, "wb") as file:
        file.write(b"x")
    os.unlink(path)
    return _ok()


def list_names(path: str) -> _Report:
    if not os.path.lexists(path):
        return _value("absent")
    return _value(",".join(sorted(os.listdir(path))) or "empty")


def exists(path: str) -> _Report:
    return _value("present" if os.path.lexists(path) else "absent")


def processes() -> _Report:
    return _value(",".join(sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int)))


def status_field(name: str) -> _Report:
    with open("/proc/self/status") as file:
        for line in file:
            key, _, rest = line.partition(":")
            if key == name:
                words = rest.split()
                return _value("/".join(sorted(set(words), key=words.index)))
    return _value("absent")


def _environment() -> dict[str, str]:
    with open("/proc/self/environ", "rb") as file:
        entries = [e.decode("utf-8", "replace") for e in file.read().split(b"\0") if e]
    return {name: value for name, _, value in (e.partition("=") for e in entries)}


def env_var(name: str) -> _Report:
    found = _environment()
    return _value(found[name]) if name in found else _value("unset")


def env_others(names: list[str]) -> _Report:
    return _value(",".join(sorted(set(_environment()) - set(names))) or "none")


def connect(port: int) -> _Report:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return _ok()


def inet_socket() -> _Report:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
    return _ok()


def resolve(name: str) -> _Report:
    socket.getaddrinfo(name, 443)
    return _ok()


def proxy_connect(port: int, host: str, target_port: int) -> _Report:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        authority = b"%s:%d" % (host.encode(), target_port)
        conn.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority))
        words = conn.makefile("rb").readline().split()
    return _value(words[1].decode() if len(words) > 1 else "no reply")


def syscall(number: int, args: list[int | str], forks: bool) -> _Report:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    me = os.getpid()
    rc = libc.syscall(
        ctypes.c_long(number),
        *[ctypes.c_char_p(a.encode()) if isinstance(a, str) else ctypes.c_long(a) for a in args],
    )
    if os.getpid() != me:  # the new process of a clone the filter let through
        os._exit(0)
    if rc == -1:
        return _failure(OSError(ctypes.get_errno(), ""))
    if forks and rc > 0:
        os.waitpid(rc, 0)
    return _ok()


def open_files(limit: int) -> _Report:
    last = -1
    try:
        for _ in range(limit):
            last = os.dup(1)
    except OSError as exc:
        return _failure(exc, last + 1)
    return _ok(last + 1)


def file_size(path: str, limit: int) -> _Report:
    chunk = b"\1" * 65536
    written = 0
    try:
        with open(path, "wb", buffering=0) as file:
            while written <= limit:
                written += file.write(chunk)
    except OSError as exc:
        return _failure(exc, written)
    finally:
        if os.path.exists(path):
            os.unlink(path)
    return _ok(written)


def _count_processes() -> int:
    return sum(1 for p in os.listdir("/proc") if p.isdigit())


def pids(limit: int) -> _Report:
    read_end, write_end = os.pipe()
    children = []
    try:
        for _ in range(limit):
            pid = os.fork()
            if pid == 0:
                os.close(write_end)
                os.read(read_end, 1)
                os._exit(0)
            children.append(pid)
    except OSError as exc:
        return _failure(exc, _count_processes())
    finally:
        os.close(write_end)
        for pid in children:
            os.waitpid(pid, 0)
    return _ok(_count_processes())


def memory(limit: int) -> _Report:
    blocks: list[bytes] = []
    while len(blocks) * _MIB < limit:
        blocks.append(b"\1" * _MIB)
        os.write(_PROGRESS[0], b".")
    return _ok(len(blocks) * _MIB)


_Action = Callable[..., _Report]


def _guarded(action: _Action, args: list[object]) -> _Report:
    try:
        return action(*args)
    except Exception as exc:
        return _failure(exc)


def _in_child(action: _Action, args: list[object], timeout_s: int) -> _Report:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _PROGRESS[0] = write_end
        signal.alarm(timeout_s)
        report = _guarded(action, args)
        os.write(write_end, b"\n" + json.dumps(report).encode())
        os._exit(0)
    os.close(write_end)
    data = b""
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        data += chunk
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        progress = data.count(b".") * _MIB or None
        name = signal.Signals(os.WTERMSIG(status)).name
        return {"result": "killed", "detail": name, "amount": progress}
    try:
        parsed: _Report = json.loads(data.rpartition(b"\n")[2])
    except ValueError:
        return {"result": "error", "detail": f"exit status {os.WEXITSTATUS(status)}"}
    return parsed


_ACTIONS: dict[str, _Action] = {
    action.__name__: action
    for action in (
        read_file,
        list_dir,
        write_file,
        list_names,
        exists,
        processes,
        status_field,
        env_var,
        env_others,
        connect,
        inet_socket,
        resolve,
        proxy_connect,
        syscall,
        open_files,
        file_size,
        pids,
        memory,
    )
}


def main() -> None:
    config = json.loads(sys.argv[1])
    observations: dict[str, _Report] = {}
    for key, action, isolated, args in config["probes"]:
        if action not in _ACTIONS:
            observations[key] = {"result": "error", "detail": "unknown probe " + action}
        elif isolated:
            observations[key] = _in_child(_ACTIONS[action], args, config["child_timeout_s"])
        else:
            observations[key] = _guarded(_ACTIONS[action], args)
    sys.stdout.write(json.dumps({"observations": observations}))


if __name__ == "__main__":
    main()
