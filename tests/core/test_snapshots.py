"""The snapshot store on its own: what a copy holds, what one hash means, what is collected."""

from __future__ import annotations

import gc
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.core.manifest import load_skill
from runtime.core.snapshots import SkillSnapshots
from runtime.errors import ConfigError
from tests.skill_fixture import make_skill


@pytest.fixture
def store(reachable_tmp: Path) -> Iterator[SkillSnapshots]:
    snapshots = SkillSnapshots(reachable_tmp / "snapshots")
    yield snapshots
    snapshots.close()


def test_the_same_content_is_one_snapshot(store: SkillSnapshots, tmp_path: Path) -> None:
    """Two folders with the same files share one snapshot and one handle."""
    first = store.take(make_skill(tmp_path / "a"))
    second = store.take(make_skill(tmp_path / "b"))
    assert second is first
    assert [p.name for p in store.root.iterdir()] == [first.content_hash]


def test_links_point_into_the_copy(store: SkillSnapshots, tmp_path: Path) -> None:
    """An absolute link inside the folder is copied relative: it never names the author's path."""
    folder = make_skill(tmp_path)
    (folder / "lib").mkdir()
    (folder / "lib" / "echo.py").symlink_to(folder / "echo.py")
    snapshot = store.take(folder)
    link = snapshot.path / "lib" / "echo.py"
    assert os.readlink(link) == "../echo.py"
    assert link.read_text() == (folder / "echo.py").read_text()


def test_the_executable_bit_is_kept_and_hashed(store: SkillSnapshots, tmp_path: Path) -> None:
    """An executable file is 0555 in the copy, and making it executable is a new snapshot."""
    folder = make_skill(tmp_path)
    plain = store.take(folder)
    (folder / "echo.py").chmod(0o755)
    executable = store.take(folder)
    assert executable.content_hash != plain.content_hash
    assert stat.S_IMODE((executable.path / "echo.py").stat().st_mode) == 0o555
    assert stat.S_IMODE((plain.path / "echo.py").stat().st_mode) == 0o444


def test_only_unheld_snapshots_are_collected(store: SkillSnapshots, tmp_path: Path) -> None:
    """A snapshot stays while a loaded skill holds it, and goes once nothing does."""
    folder = make_skill(tmp_path)
    old = load_skill(folder, store)
    (folder / "echo.py").write_text("print('{}')\n")
    new = load_skill(folder, store)
    assert store.collect() == []
    old_path = old.snapshot.path
    del old
    gc.collect()
    assert store.collect() == [old_path.name]
    assert not old_path.exists() and new.snapshot.path.is_dir()


def test_a_refused_folder_leaves_nothing_behind(store: SkillSnapshots, tmp_path: Path) -> None:
    """A folder refused while copying leaves no staging folder in the store."""
    folder = make_skill(tmp_path)
    os.mkfifo(folder / "zz-fifo")
    with pytest.raises(ConfigError, match="zz-fifo: a device, fifo or socket"):
        store.take(folder)
    assert list(store.root.iterdir()) == []


def test_errors_name_the_authors_file(store: SkillSnapshots, tmp_path: Path) -> None:
    """A manifest error names the author's skill.toml, not the daemon's copy of it."""
    folder = make_skill(tmp_path, toml='version = "one"\n')
    with pytest.raises(ConfigError) as info:
        load_skill(folder, store)
    assert str(info.value).startswith(f"{folder.resolve()}/skill.toml: version:")
    assert str(store.root) not in str(info.value)
