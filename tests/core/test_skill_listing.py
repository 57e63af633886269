"""The catalog lists every folder, of both kinds, each available or not with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.core.availability import Host
from runtime.core.catalog import Catalog, SkillKind, secret_users
from runtime.core.instructions import InstructionSkill
from runtime.errors import BadRequest, NoSuchEntity, WrongState
from runtime.sandbox.profiles import ProfileStore
from runtime.util import paths
from tests.core.openclaw_skills import ABSENT, EXPECTED, write_catalog
from tests.skill_fixture import make_skill


@pytest.fixture
def catalog(tmp_path: Path, profiles: ProfileStore) -> Catalog:
    return Catalog(write_catalog(tmp_path / "catalog"), profiles=profiles)


def test_every_folder_is_listed_with_its_availability(catalog: Catalog) -> None:
    """Each kind of published folder is listed, available or not, with the right reason."""
    entries = catalog.listing()
    assert [e.name for e in entries] == sorted(EXPECTED)
    for entry in entries:
        kind, reason = EXPECTED[entry.name]
        assert entry.kind.value == kind, entry.name
        if reason is None:
            assert entry.available, f"{entry.name}: {entry.unavailable_reason}"
        else:
            assert not entry.available and reason in str(entry.unavailable_reason), entry.name


def test_instruction_skill_carries_requirements_and_grants(catalog: Catalog) -> None:
    """An instruction skill has its SKILL.md's requirements and only the operator's grants."""
    skill = catalog.instruction("place-search")
    assert (skill.requires_bins, skill.requires_env, skill.os) == (("sh",), ("PLACES_API_KEY",), ())
    assert skill.grants.secrets == ("PLACES_API_KEY",)
    assert skill.grants.network == ("places.example.com:443",)
    assert skill.grants.readonly_paths == ("/etc/ssl/certs",)
    assert catalog.instruction("plain-notes").grants.network == ()


def test_instruction_skill_with_scripts_keeps_its_files(catalog: Catalog) -> None:
    """A skill's scripts are part of its folder and of its content hash."""
    skill = catalog.instruction("hello-script")
    before = skill.content_hash
    assert (skill.directory / "scripts" / "hello.sh").is_file()
    (skill.directory / "scripts" / "hello.sh").write_text("#!/bin/sh\necho changed\n")
    assert catalog.instruction("hello-script").content_hash != before


def test_unavailable_instruction_skill_is_refused_with_the_reason(catalog: Catalog) -> None:
    """instruction() of an unavailable skill is WrongState naming the skill and the reason."""
    with pytest.raises(WrongState, match="skill 'mac-notes' is unavailable: runs only on darwin"):
        catalog.instruction("mac-notes")


def test_instruction_of_unknown_or_tool_skill_is_not_found(catalog: Catalog) -> None:
    """instruction() finds neither an absent folder nor a tool skill."""
    with pytest.raises(NoSuchEntity, match="unknown skill 'nope'"):
        catalog.instruction("nope")
    with pytest.raises(NoSuchEntity, match="is a tool skill"):
        catalog.instruction("absent-tool")


def test_tool_skill_of_instruction_folder_is_not_found(catalog: Catalog) -> None:
    """get() of an instruction skill says it has no tools."""
    with pytest.raises(NoSuchEntity, match="'plain-notes' has no tools: it is an instruction"):
        catalog.get("plain-notes")


def test_unavailable_tool_skill_is_refused_with_the_reason(catalog: Catalog) -> None:
    """get() of a tool skill whose program is missing is WrongState with the reason."""
    with pytest.raises(
        WrongState, match=f"'absent-tool' is unavailable: needs the program {ABSENT}"
    ):
        catalog.get("absent-tool")


def test_broken_manifest_is_refused_naming_file_and_key(catalog: Catalog) -> None:
    """get() of a tool skill with a broken skill.toml names the file and the key."""
    with pytest.raises(WrongState, match=r"broken-manifest/skill\.toml: colour: unknown key"):
        catalog.get("broken-manifest")


def test_profile_typo_names_the_skill_and_spares_the_others(catalog: Catalog) -> None:
    """A tool skill naming an unknown profile is unavailable; the others stay listed."""
    entry = catalog.entry("typo-profile")
    assert entry.kind is SkillKind.TOOL and entry.skill is not None
    assert "unknown profile 'defualt'" in str(entry.unavailable_reason)
    assert len(catalog.listing()) == len(EXPECTED)


def test_broken_folder_keeps_what_skill_md_says(catalog: Catalog) -> None:
    """A tool skill whose skill.toml is broken still shows its SKILL.md description."""
    entry = catalog.entry("broken-manifest")
    assert entry.skill is None and entry.description.startswith("Echoes its input")


def test_bad_skill_name_is_bad_request(catalog: Catalog) -> None:
    """A name that cannot be a skill's is refused before any file is looked at."""
    with pytest.raises(BadRequest, match="not valid"):
        catalog.entry("../etc")


def test_os_is_honoured_for_the_host(tmp_path: Path) -> None:
    """A darwin-only skill is available on a darwin host, unavailable on linux."""
    directory = write_catalog(tmp_path / "catalog")
    on_darwin = Catalog(directory, host=Host(os="darwin", search_path="/usr/bin:/bin"))
    reason = on_darwin.entry("mac-notes").unavailable_reason
    assert reason == "needs the program notes-cli, which this host lacks"


def test_programs_are_looked_up_on_the_session_path(tmp_path: Path) -> None:
    """A program is found only on the PATH sessions search, not elsewhere on the host."""
    directory = write_catalog(tmp_path / "catalog")
    bare = Catalog(directory, host=Host(search_path=str(tmp_path / "empty")))
    assert bare.entry("plain-notes").unavailable_reason == (
        "needs the program sh, which this host lacks"
    )


def test_skipped_and_unavailable_folders_are_told_once(tmp_path: Path) -> None:
    """A skipped folder and an unavailable skill are each reported once with the reason."""
    directory = write_catalog(tmp_path / "catalog")
    (directory / "Not_A_Name").mkdir()
    (directory / "README.md").write_text("not a skill\n")
    told: list[tuple[str, str]] = []
    catalog = Catalog(directory, notice=lambda folder, reason: told.append((folder, reason)))
    catalog.listing()
    catalog.listing()
    assert [f for f, _ in told].count("Not_A_Name") == 1
    assert [f for f, _ in told].count("mac-notes") == 1
    assert "README.md" not in {f for f, _ in told}
    assert "Not_A_Name" not in catalog.names()


def test_tool_skill_needs_its_manifest_to_declare_required_secrets(tmp_path: Path) -> None:
    """A tool skill's requires.env must be among the secrets its skill.toml declares."""
    folder = make_skill(tmp_path)
    (folder / "SKILL.md").write_text(
        "---\nname: echo-skill\ndescription: d\n"
        'metadata: {"openclaw":{"requires":{"env":["ECHO_TOKEN"]}}}\n---\n'
    )
    reason = Catalog(tmp_path).entry("echo-skill").unavailable_reason
    assert reason == "needs secret ECHO_TOKEN, which its skill.toml does not declare"


def test_policy_change_applies_without_restart(catalog: Catalog) -> None:
    """Granting a secret in the policy file makes the skill that needs it available."""
    assert not catalog.entry("forecast-api").available
    with catalog.policy_file.open("a") as policy:
        policy.write('\n[skills.forecast-api]\nsecrets = ["FORECAST_API_KEY"]\n')
    skill = catalog.instruction("forecast-api")
    assert isinstance(skill, InstructionSkill) and skill.grants.secrets == ("FORECAST_API_KEY",)


def test_broken_policy_makes_instruction_skills_unavailable_only(catalog: Catalog) -> None:
    """A policy file broken after start names file and key; tool skills are untouched."""
    catalog.policy_file.write_text('[skills.place-search]\nnetwork = "x"\n')
    reason = str(catalog.entry("plain-notes").unavailable_reason)
    assert "skills-policy.toml: skills.place-search.network: expected a list" in reason
    assert catalog.entry("absent-tool").skill is not None


def test_secret_users_include_granted_instruction_skills(catalog: Catalog) -> None:
    """A secret granted to an instruction skill counts that skill among its users."""
    assert secret_users(catalog)["PLACES_API_KEY"] == ("place-search",)


def test_bundled_catalog_is_unchanged(profiles: ProfileStore) -> None:
    """Every bundled skill is an available tool skill, as before."""
    catalog = Catalog(paths.PROJECT_ROOT / "skills_catalog", profiles=profiles)
    entries = catalog.listing()
    assert entries and all(e.kind is SkillKind.TOOL and e.available for e in entries)
    assert [e.name for e in entries] == catalog.names()


def test_run_by_path_of_an_instruction_skill_says_what_it_is(catalog: Catalog) -> None:
    """An instruction folder given as a path is named as such, not as 'not a skill folder'."""
    with pytest.raises(NoSuchEntity, match=r"an instruction skill .* has no tools to run"):
        catalog.resolve(str(catalog.directories[0] / "hello-script"))


def test_folder_with_an_unreadable_file_is_listed_broken(catalog: Catalog) -> None:
    """A file that may not be read (a link out of the folder, to /proc/self/mem) makes its skill
    unavailable, and only that one."""
    (catalog.directories[0] / "plain-notes" / "mem").symlink_to("/proc/self/mem")
    entry = catalog.entry("plain-notes")
    assert entry.skill is None and "mem: a symlink leading out" in str(entry.unavailable_reason)
    assert len(catalog.listing()) == len(EXPECTED)
