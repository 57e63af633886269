"""A skill author who swaps a directory of their folder for a symlink while the daemon copies it
never gets a root-only file into the copy: each copy is either the folder's own content or a
clear refusal naming the entry."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.core.skill_files import copy_skill
from runtime.errors import ConfigError

SECRET = b"ROOT-ONLY-4b1d0c"
BENIGN = b"the author's own file\n"
COPIES = 300


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A directory only root may enter, holding a file only root may read."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "z").write_bytes(SECRET)
    (private / "z").chmod(0o600)
    return private


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Files listed before ``zdir``, so the window between listing and reading is wide."""
    skill = tmp_path / "skill"
    skill.mkdir()
    (skill / "SKILL.md").write_text("---\nname: racer\n---\n")
    for index in range(20):
        (skill / f"a{index:04d}").write_bytes(os.urandom(1000))
    (skill / "zdir").mkdir()
    (skill / "zdir" / "z").write_bytes(BENIGN)
    return skill


@pytest.fixture
def swapping(folder: Path, secret: Path) -> Iterator[None]:
    """A thread swapping ``zdir`` for a symlink to the secret directory and back, until the end."""
    stop = threading.Event()

    def swap() -> None:
        real, link = folder / "zreal", folder / "zdir"
        while not stop.is_set():
            try:
                os.rename(link, real)
                os.symlink(secret, link)
                os.unlink(link)
                os.rename(real, link)
            except OSError:
                pass

    thread = threading.Thread(target=swap, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join()


@pytest.mark.usefixtures("swapping")
def test_a_swapped_directory_never_copies_a_root_only_file(folder: Path, tmp_path: Path) -> None:
    copied = refused = 0
    for attempt in range(COPIES):
        dest = tmp_path / f"copy-{attempt}"
        dest.mkdir()
        try:
            copy_skill(folder, dest)
        except ConfigError as exc:
            assert str(exc).startswith((f"{folder}/zdir", f"{folder}/zreal")), exc
            refused += 1
        else:
            copied += 1
        for file in dest.rglob("*"):
            if file.is_file() and not file.is_symlink():
                assert SECRET not in file.read_bytes(), f"{file} holds a root-only file"
        if (dest / "zdir" / "z").exists():
            assert (dest / "zdir" / "z").read_bytes() == BENIGN
    assert copied + refused == COPIES
