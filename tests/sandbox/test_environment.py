"""Nothing of the caller's process reaches the sandbox: no environment, no file descriptors."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .probes import Jail, explain, out, unique_token


def test_caller_environment_does_not_leak(jail: Jail, monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable set in the caller's environment is absent inside the sandbox."""
    key, value = "SKILLRT_LEAK_" + unique_token().replace("-", "_").upper(), unique_token()
    monkeypatch.setenv(key, value)
    result = jail.python("import os, json; print(json.dumps(dict(os.environ)))")
    inside = json.loads(out(result))
    assert key not in inside, explain(result)
    assert value not in out(result)


def test_environment_is_exactly_the_profiles(jail: Jail) -> None:
    """The sandbox's environment holds the profile's variables and nothing else."""
    result = jail.python("import os, json; print(json.dumps(dict(os.environ)))")
    assert json.loads(out(result)) == dict(jail.profile.env), explain(result)


@pytest.fixture
def inheritable_fd(tmp_path: Path) -> Iterator[int]:
    """A host file open in the test process at fd 100, inheritable (no O_CLOEXEC)."""
    fd = os.open(tmp_path / "host-open.txt", os.O_CREAT | os.O_RDWR, 0o644)
    high = os.dup2(fd, 100, inheritable=True)
    os.close(fd)
    assert os.get_inheritable(high)
    try:
        yield high
    finally:
        os.close(high)


def test_caller_file_descriptors_do_not_leak(jail: Jail, inheritable_fd: int) -> None:
    """Only stdin, stdout, stderr and the listing's own fd are open inside the sandbox."""
    result = jail.python("import os; print(' '.join(sorted(os.listdir('/proc/self/fd'), key=int)))")
    assert out(result) == "0 1 2 3", explain(result)
    assert str(inheritable_fd) not in out(result).split()
