"""Skills and profiles are parsed once, and again as soon as a file of theirs changes."""

from __future__ import annotations

from pathlib import Path

from runtime.core.catalog import Catalog
from tests.skill_fixture import make_skill


def test_unchanged_skill_is_not_parsed_again(tmp_path: Path) -> None:
    """Two lookups of an unchanged skill return the very same parsed object."""
    make_skill(tmp_path)
    catalog = Catalog(tmp_path)
    assert catalog.get("echo-skill") is catalog.get("echo-skill")


def test_edited_skill_is_parsed_again(tmp_path: Path) -> None:
    """An edit to any file of the skill, even keeping its size, gives a new content hash."""
    folder = make_skill(tmp_path)
    catalog = Catalog(tmp_path)
    before = catalog.get("echo-skill").content_hash
    code = folder / "echo.py"
    code.write_text(code.read_text().replace("got", "for"))
    assert catalog.get("echo-skill").content_hash != before
