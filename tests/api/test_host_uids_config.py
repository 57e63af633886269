"""[sandboxes] host_uids: the host uids sandboxes run as, read from the daemon's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.api.config import load
from runtime.errors import ConfigError
from runtime.sandbox.identity import UidRange


def test_host_uids_are_read_as_a_range(tmp_path: Path) -> None:
    """'first-last' becomes the pool's range, both ends included."""
    file = tmp_path / "skillrt.toml"
    file.write_text('[sandboxes]\nhost_uids = "2000000000-2000000099"\n')
    assert load(file).host_uids == UidRange(first=2_000_000_000, count=100)


@pytest.mark.parametrize("value", ["0-100", "100000", "2000-1000", "70000-4294967295", "a-b"])
def test_bad_host_uids_name_the_key(tmp_path: Path, value: str) -> None:
    """Root's uid, a single number, a reversed or unmappable range are refused by key."""
    file = tmp_path / "skillrt.toml"
    file.write_text(f'[sandboxes]\nhost_uids = "{value}"\n')
    with pytest.raises(ConfigError, match=r"^sandboxes\.host_uids: "):
        load(file)
