"""SKILL.md frontmatter: the shapes published skills use, and errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.core.skillmd import Requirements, read_skill_md
from runtime.errors import ConfigError


def skill_md(tmp_path: Path, metadata: str) -> Path:
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "SKILL.md").write_text(f"---\nname: demo\ndescription: A demo.\n{metadata}---\n")
    return folder


@pytest.mark.parametrize(
    "metadata",
    [
        # a YAML mapping
        "metadata:\n  openclaw:\n    os: [linux]\n    requires:\n      bins: [git]\n"
        "      anyBins: [python3, python]\n      env: [GH_TOKEN]\n",
        # one line of JSON
        'metadata: {"openclaw":{"os":["linux"],"requires":{"bins":["git"],'
        '"anyBins":["python3","python"],"env":["GH_TOKEN"]}}}\n',
        # JSON over several lines, with trailing commas
        'metadata:\n  {\n    "openclaw":\n      {\n        "os": ["linux"],\n'
        '        "requires": { "bins": ["git"], "anyBins": ["python3", "python"],'
        ' "env": ["GH_TOKEN"] },\n      },\n  }\n',
        # a string of JSON, under OpenClaw's former name, lists as comma-separated text
        'metadata: \'{"clawdbot":{"os":"linux","requires":{"bins":"git",'
        '"anyBins":"python3, python","env":"GH_TOKEN"}}}\'\n',
    ],
)
def test_requirements_in_every_published_shape(tmp_path: Path, metadata: str) -> None:
    """Requirements read the same from each way published skills write metadata."""
    front = read_skill_md(skill_md(tmp_path, metadata))
    assert front.requires == Requirements(
        bins=("git",), any_bins=("python3", "python"), env=("GH_TOKEN",), os=("linux",)
    )


def test_no_metadata_requires_nothing(tmp_path: Path) -> None:
    """A skill without metadata (or without an openclaw entry) requires nothing."""
    assert read_skill_md(skill_md(tmp_path, "")).requires == Requirements()
    other = tmp_path / "other"
    other.mkdir()
    folder = skill_md(other, "metadata:\n  author: someone\n")
    assert read_skill_md(folder).requires == Requirements()


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ("metadata: [1, 2]\n", r"frontmatter\.metadata: must be a mapping"),
        ("metadata: {openclaw: [1]}\n", r"frontmatter\.metadata\.openclaw: must be a mapping"),
        (
            "metadata: {openclaw: {requires: [bins]}}\n",
            r"metadata\.openclaw\.requires: must be a mapping",
        ),
        (
            "metadata: {openclaw: {requires: {bins: 5}}}\n",
            r"metadata\.openclaw\.requires\.bins: expected a list of strings",
        ),
        (
            "metadata: {openclaw: {requires: {anyBins: [sh, 3]}}}\n",
            r"metadata\.openclaw\.requires\.anyBins\[1\]: expected a name, got 3",
        ),
        (
            "metadata: {openclaw: {requires: {bins: [/bin/sh]}}}\n",
            r"requires\.bins\[0\]: '/bin/sh' must be a program name, not a path",
        ),
        (
            "metadata: {openclaw: {requires: {env: [LD_PRELOAD]}}}\n",
            r"requires\.env\[0\]: secret name 'LD_PRELOAD' is reserved",
        ),
        ("metadata: {openclaw: {os: {a: 1}}}\n", r"metadata\.openclaw\.os: expected a list"),
    ],
)
def test_malformed_requirements_name_the_key(tmp_path: Path, metadata: str, message: str) -> None:
    """A requirement of the wrong shape is a ConfigError naming SKILL.md and the key."""
    with pytest.raises(ConfigError, match=r"demo/SKILL\.md: .*" + message):
        read_skill_md(skill_md(tmp_path, metadata))
