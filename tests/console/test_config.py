"""``[console]`` in the daemon's configuration: off by default, loopback unless TLS."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.api.config import defaults, load
from runtime.cli.main import main


def test_the_console_is_off_by_default() -> None:
    """Without [console] enabled, no console is served."""
    assert not defaults().console.enabled
    assert defaults().console.url(tls=False) is None


def test_the_start_up_line_names_the_console(tmp_path: Path) -> None:
    """Enabled, the console's address is in the daemon's start-up line."""
    file = tmp_path / "skillrt.toml"
    file.write_text('[console]\nenabled = true\nlisten = "127.0.0.1:7999"\n')
    assert load(file).listeners().endswith(" and the console at http://127.0.0.1:7999/")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[console]\nenabled = true\nlisten = "0.0.0.0:7480"\n', "console.listen: off loopback"),
        ('[console]\nlisten = "localhost:7480"\n', "console.listen: 'localhost' is not an IP"),
        ('[console]\nlisten = "127.0.0.1"\n', "console.listen: "),
        ('[console]\nsession_idle = "10s"\n', "console.session_idle: must be at least 1m"),
        ("[console]\nenable = true\n", "console.enable: unknown key"),
    ],
    ids=["plain-off-loopback", "a-name", "no-port", "short-idle", "typo"],
)
def test_a_bad_console_table_is_one_line_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, named: str
) -> None:
    """`config check` refuses a bad [console] with one line naming file and key, exit 2."""
    file = tmp_path / "skillrt.toml"
    file.write_text(text)
    assert main(["config", "check", str(file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"skillrt: error: {file}: {named}") and err.count("\n") == 1, err
