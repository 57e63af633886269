"""Several catalog folders in one daemon: skills of each are served and picked up live; a name in
two folders is served from neither, naming both."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from runtime.api.config import load
from runtime.core.catalog import Catalog
from runtime.errors import ConfigError
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util import paths
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.skill_fixture import make_skill

BUNDLED = paths.PROJECT_ROOT / "skills_catalog"
BROKEN_PROFILE_SKILL = """
version = "1.0.0"
profile = "broken"
[[tools]]
name = "echo"
entrypoint = ["/usr/bin/python3", "-I", "-S", "/skill/echo.py"]
input_schema = {type = "object"}
"""


@pytest.fixture(scope="module")
def two_folders() -> Iterator[tuple[Daemon, Path]]:
    """The test catalog (probe, text-stats) and the operator's own (calc, and text-stats too)."""
    daemon = make_daemon()
    own = daemon.root / "own-skills"
    own.mkdir(mode=0o755)
    for name in ("calc", "text-stats"):
        shutil.copytree(BUNDLED / name, own / name)
    # A profile that does not parse, and a skill of the second folder that uses it.
    profiles = daemon.root / "profiles"
    shutil.copytree(paths.PROJECT_ROOT / "sandbox_profiles", profiles)
    (profiles / "broken.toml").write_text('[limits]\nmemory = "lots"\n')
    make_skill(own, "on-broken", toml=BROKEN_PROFILE_SKILL)
    config = daemon.root / "skillrt.toml"
    config.write_text(
        f'[catalog]\nskills = ["{daemon.catalog.name}", "{own.name}"]\nprofiles = "profiles"\n'
    )
    daemon.start("--config", str(config), catalog_flag=False)
    yield daemon, own
    cleanup(daemon)


def _skills(daemon: Daemon) -> dict[str, pb.Skill]:
    with daemon.channel() as channel:
        listed = daemon.stub(channel).ListSkills(pb.ListSkillsRequest(), timeout=30)
    return {skill.name: skill for skill in listed.skills}


def test_skills_of_every_folder_are_served(two_folders: tuple[Daemon, Path]) -> None:
    """A skill of the second folder lists and runs beside those of the first."""
    daemon, _ = two_folders
    skills = _skills(daemon)
    assert skills["probe"].available and skills["calc"].available
    with daemon.channel() as channel:
        done = daemon.stub(channel).Invoke(
            pb.InvokeRequest(skill="calc", tool="evaluate", input_json='{"expression": "6*7"}'),
            timeout=60,
        )
    assert done.result.status == pb.STATUS_OK, done.result


def test_a_broken_profile_makes_only_its_skills_unavailable(
    two_folders: tuple[Daemon, Path],
) -> None:
    """The daemon starts with a profile that does not parse, as with a broken skill folder: the
    skills that use it are unavailable with the reason, the rest are served."""
    daemon, _ = two_folders
    skills = _skills(daemon)
    assert not skills["on-broken"].available
    assert "broken.toml" in skills["on-broken"].unavailable_reason
    assert skills["calc"].available and skills["probe"].available


def test_config_check_names_a_broken_profile(two_folders: tuple[Daemon, Path]) -> None:
    """`config check` parses every profile: the broken one fails the check, naming its file."""
    daemon, _ = two_folders
    checked = daemon.cli("config", "check", str(daemon.root / "skillrt.toml"))
    assert checked.returncode == 2
    assert "broken.toml" in checked.stderr and len(checked.stderr.strip().splitlines()) == 1


def test_a_name_in_two_folders_is_served_from_neither(two_folders: tuple[Daemon, Path]) -> None:
    """text-stats in both folders is unavailable naming both, and refused when invoked; once
    one copy is removed, the other is served."""
    daemon, own = two_folders
    both = f"{daemon.catalog} and {own}"
    listed = _skills(daemon)["text-stats"]
    assert not listed.available and both in listed.unavailable_reason
    with daemon.channel() as channel, pytest.raises(grpc.RpcError) as refused:
        daemon.stub(channel).Invoke(
            pb.InvokeRequest(skill="text-stats", tool="analyze", input_json='{"text": "a"}'),
            timeout=60,
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert both in str(refused.value.details())
    shutil.rmtree(own / "text-stats")
    assert _skills(daemon)["text-stats"].available


def test_a_skill_dropped_into_either_folder_is_picked_up(two_folders: tuple[Daemon, Path]) -> None:
    """A new skill folder appears in the listing without a restart, in each catalog folder."""
    daemon, own = two_folders
    make_skill(daemon.catalog, "first-new")
    make_skill(own, "second-new")
    skills = _skills(daemon)
    assert skills["first-new"].available and skills["second-new"].available


def test_a_missing_catalog_folder_stops_the_start(tmp_path: Path) -> None:
    """serve refuses a catalog folder that does not exist, in one line naming the key."""
    config = tmp_path / "skillrt.toml"
    config.write_text(f'[catalog]\nskills = ["{BUNDLED}", "missing"]\n')
    moved = ["--state-dir", str(tmp_path / "state"), "--socket", str(tmp_path / "s.sock")]
    proc = subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", "serve", "--config", str(config), *moved],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr == f"skillrt: error: catalog.skills: {tmp_path}/missing: not a folder\n"
    assert not (tmp_path / "state").exists()


def test_skills_takes_a_folder_or_a_list(tmp_path: Path) -> None:
    """[catalog] skills is one folder or a list, each relative to the file."""
    file = tmp_path / "skillrt.toml"
    file.write_text('[catalog]\nskills = "a"\n')
    assert load(file).catalog_dirs == (tmp_path / "a",)
    file.write_text('[catalog]\nskills = ["a", "/srv/b"]\n')
    assert load(file).catalog_dirs == (tmp_path / "a", Path("/srv/b"))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('["a", "./a"]', "is listed twice"),
        ("[]", "names no folder"),
        ("3", "expected a folder or a list of folders"),
        ('["a", 3]', r"\[1\]: expected a string"),
    ],
)
def test_bad_skills_folders_name_the_key(tmp_path: Path, value: str, reason: str) -> None:
    """The same folder twice, no folder or a wrong type is a ConfigError naming the key."""
    file = tmp_path / "skillrt.toml"
    file.write_text(f"[catalog]\nskills = {value}\n")
    with pytest.raises(ConfigError, match=rf"skillrt\.toml: catalog\.skills.*{reason}"):
        load(file)


def test_the_policy_file_defaults_beside_the_first_folder(tmp_path: Path) -> None:
    """With several folders and no [catalog] policy, the grants are read beside the first."""
    catalog = Catalog([tmp_path / "one" / "skills", tmp_path / "two" / "skills"])
    assert catalog.policy_file == tmp_path / "one" / "skills-policy.toml"
