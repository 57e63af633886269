"""skillrt.example.toml shows every key the daemon reads, holds the defaults, passes
``skillrt config check`` and starts a real daemon; ``config check`` names file and key."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.api.config import defaults, load
from runtime.cli.main import main
from runtime.client import Client
from runtime.util import paths
from runtime.util.tomlfields import Table
from tests.api.conftest import Daemon, cleanup, make_daemon

EXAMPLE = paths.PROJECT_ROOT / "skillrt.example.toml"
# `#key = ...` and `#[table]`: a setting shown commented out; `# text` is an explanation.
_COMMENTED_SETTING = re.compile(r"^#(?=[\[A-Za-z_\"])", re.MULTILINE)


def _every_setting_on() -> str:
    return _COMMENTED_SETTING.sub("", EXAMPLE.read_text())


def _names(table: dict[str, Any], prefix: str = "") -> set[str]:
    names = set()
    for key, value in table.items():
        names.add(prefix + key)
        if isinstance(value, dict):
            names |= _names(value, f"{prefix}{key}.")
    return names


def test_every_key_the_parser_looks_for_is_in_the_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing the example with every setting turned on, the parser asks for no key that the
    example lacks: a key added to the parser without an example fails here."""
    full = tmp_path / "skillrt.toml"
    full.write_text(_every_setting_on())
    asked: set[str] = set()
    has = Table.has

    def watched(self: Table, key: str) -> bool:
        asked.add(self.key_name(key))
        return has(self, key)

    monkeypatch.setattr(Table, "has", watched)
    load(full)  # an unknown key in the example would be an error here
    assert {"server.tcp", "tls.client_roles.agent-1", "pool.idle"} <= asked
    shown = _names(tomllib.loads(full.read_text()))
    assert sorted(asked - shown) == []


def test_the_example_holds_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loaded as it is, the example changes nothing: each value shown is the default."""
    for variable in ("SKILLRT_SOCKET", "SKILLRT_STATE_DIR", "SKILLRT_CATALOG", "SKILLRT_PROFILES"):
        monkeypatch.delenv(variable, raising=False)
    assert load(EXAMPLE) == defaults()


def test_config_check_passes_on_the_example() -> None:
    """`skillrt config check` says the example is ok, with a summary of what it means."""
    proc = subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", "config", "check", str(EXAMPLE)],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{EXAMPLE}: ok"
    assert any(
        re.match(rf"\s+catalogs\s+{paths.PROJECT_ROOT}/skills_catalog \(\d+ skills\)", line)
        for line in lines
    )
    assert any(re.match(r"\s+tcp\s+off$", line) for line in lines)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[server\n", "invalid TOML"),
        ('[server]\nsockt = "/x"\n', "server.sockt: unknown key"),
        ('[pool]\nmemory_budget = "lots"\n', "pool.memory_budget: expected a size"),
        (
            '[server]\ntcp = "127.0.0.1:7443"\n[tls]\ncert = "gone.pem"\nkey = "gone.key"\n',
            "tls.cert: ",
        ),
        ('[catalog]\nskills = ["a", "a"]\n', "catalog.skills: "),
        ('[catalog]\nskills = "nowhere"\n', "catalog.skills: "),
        ("[sandboxes]\nmax_running = 0\n", "sandboxes.max_running: must be at least 1"),
    ],
    ids=["syntax", "unknown-key", "bad-size", "missing-cert", "twice", "missing-folder", "range"],
)
def test_config_check_names_the_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, named: str
) -> None:
    """A broken file is one line naming the file and the key, exit 2, never a traceback."""
    file = tmp_path / "skillrt.toml"
    file.write_text(text)
    code = main(["config", "check", str(file)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith(f"skillrt: error: {file}: {named}") and err.count("\n") == 1, err


@pytest.fixture(scope="module")
def example_daemon() -> Iterator[Daemon]:
    daemon = make_daemon()
    daemon.start("--config", str(EXAMPLE), catalog_flag=False)
    yield daemon
    cleanup(daemon)


def test_a_daemon_starts_from_the_example(example_daemon: Daemon) -> None:
    """With only its socket, state directory and cgroup root moved, the example serves the
    bundled catalog and answers health and whoami."""
    with Client(example_daemon.target, token=example_daemon.owner_token) as client:
        assert client.health() == "SERVING"
        assert (client.whoami().name, client.whoami().role) == ("owner", "owner")
        names = {skill.name for skill in client.list_skills()}
    bundled = {p.name for p in (paths.PROJECT_ROOT / "skills_catalog").iterdir() if p.is_dir()}
    assert names == bundled
