"""The [quarantine] section of the daemon's configuration file (pure, and `config check`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.api.config import load
from runtime.cli.main import main
from runtime.core.quarantine import Running, TripKind


def test_defaults_are_on_with_ten_of_each_kind_in_a_minute(tmp_path: Path) -> None:
    """Without [quarantine]: on, a 60 s window, 10 trips of each kind, running calls killed."""
    file = tmp_path / "skillrt.toml"
    file.write_text("")
    settings = load(file).quarantine
    assert (settings.enabled, settings.window_ms, settings.running) == (True, 60_000, Running.KILL)
    assert dict(settings.thresholds) == dict.fromkeys(TripKind, 10)


def test_every_key_is_read(tmp_path: Path) -> None:
    """Window, each kind's threshold (0 turning it off) and what running calls do are read."""
    file = tmp_path / "skillrt.toml"
    file.write_text(
        '[quarantine]\nenabled = false\nwindow = "5m"\nseccomp_kills = 3\negress_denials = 0\n'
        "memory_limit = 4\npids_limit = 5\noutput_limit = 6\ninvalid_output = 7\n"
        'running = "finish"\n'
    )
    settings = load(file).quarantine
    assert (settings.enabled, settings.window_ms, settings.running) == (False, 300_000, "finish")
    assert [settings.thresholds[kind] for kind in TripKind] == [3, 0, 4, 5, 6, 7]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('window = "soon"', "quarantine.window: expected a duration"),
        ('window = "10ms"', "quarantine.window: must be at least 1s"),
        ("seccomp_kills = -1", "quarantine.seccomp_kills: must not be negative"),
        ('pids_limit = "ten"', "quarantine.pids_limit: expected an integer"),
        ('running = "pause"', "quarantine.running: must be 'kill' or 'finish', not 'pause'"),
        ("enabled = 1", "quarantine.enabled: expected true or false"),
        ("seccomp = 3", "quarantine.seccomp: unknown key"),
    ],
    ids=["window", "short-window", "negative", "not-a-number", "running", "enabled", "unknown"],
)
def test_a_bad_value_is_one_line_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, named: str
) -> None:
    """`config check` refuses a bad [quarantine] value with one line naming file and key."""
    file = tmp_path / "skillrt.toml"
    file.write_text(f"[quarantine]\n{text}\n")
    code = main(["config", "check", str(file)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith(f"skillrt: error: {file}: {named}") and err.count("\n") == 1, err
