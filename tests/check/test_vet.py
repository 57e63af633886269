"""`skillrt vet` finds what a careful reviewer would, each on its file and line: a download piped
into a shell, a read of ~/.ssh, an undeclared secret, a hard-coded key, a host the allowlist
lacks, shellcheck's findings, code no analyser reads; and records its verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.core.vetting import Severity, folder_hash, read_record, record_path
from runtime.util import paths
from tests.check.vet_fixtures import (
    AWS_KEY,
    MAIN_LINES,
    SCRIPT_LINES,
    SKILL_TOML,
    line_of,
    write_bad_tool_skill,
)

SKILLRT = [sys.executable, "-m", "runtime.cli.main"]


@dataclass(frozen=True)
class Vetted:
    folder: Path
    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(self.stdout)
        return report

    def findings(self, check: str, file: str, line: int | None = None) -> list[dict[str, Any]]:
        return [
            f
            for f in self.report["findings"]
            if f["check"] == check and f["file"] == file and (line is None or f["line"] == line)
        ]


def vet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SKILLRT, "vet", *args],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> Vetted:
    """The bad skill, vetted once with --json (the tests below read its report)."""
    folder = write_bad_tool_skill(tmp_path_factory.mktemp("vet"))
    done = vet(str(folder), "--json", "--reviewer", "alice")
    return Vetted(folder=folder, code=done.returncode, stdout=done.stdout, stderr=done.stderr)


def test_a_download_piped_into_a_shell_is_critical(bad: Vetted) -> None:
    """`curl ... | sh` in a script is a critical finding on its line."""
    found = bad.findings("patterns", "install.sh", line_of(SCRIPT_LINES, "download"))
    assert [f["severity"] for f in found] == ["critical"], found
    assert "download-and-execute" in found[0]["message"]


def test_a_download_piped_into_a_shell_from_python_is_critical(bad: Vetted) -> None:
    """The same command held in a Python string (for os.system) is found too."""
    found = bad.findings("patterns", "main.py", line_of(MAIN_LINES, "shell"))
    assert [f["severity"] for f in found] == ["critical"], found


def test_reading_ssh_keys_is_high(bad: Vetted) -> None:
    """A path under ~/.ssh is a credential location: high, naming it."""
    found = bad.findings("declared", "main.py", line_of(MAIN_LINES, "ssh"))
    assert [f["severity"] for f in found] == ["high"], found
    assert "~/.ssh" in found[0]["message"]


def test_an_undeclared_secret_read_from_the_environment_is_high(bad: Vetted) -> None:
    """os.environ.get("OPENAI_API_KEY") without permissions.secrets naming it is high; the
    declared DECLARED_TOKEN read on the line before is not a finding."""
    found = bad.findings("declared", "main.py", line_of(MAIN_LINES, "undeclared-secret"))
    assert [f["severity"] for f in found] == ["high"], found
    assert "$OPENAI_API_KEY" in found[0]["message"]
    assert "permissions.secrets" in found[0]["message"]
    assert not bad.findings("declared", "main.py", line_of(MAIN_LINES, "declared"))


def test_a_hard_coded_key_is_found_and_never_shown(bad: Vetted) -> None:
    """An AWS-style key assigned in code is a high secrets finding; the key is not printed."""
    found = bad.findings("secrets", "main.py", line_of(MAIN_LINES, "hard-coded-key"))
    assert [f["severity"] for f in found] == ["high"], found
    assert "AWS Access Key" in found[0]["message"]
    assert AWS_KEY not in bad.stdout + bad.stderr
    assert AWS_KEY not in record_path(bad.folder).read_text()


def test_a_host_the_allowlist_lacks_is_found(bad: Vetted) -> None:
    """A URL's host that permissions.network does not allow is a medium finding."""
    found = bad.findings("declared", "main.py", line_of(MAIN_LINES, "host"))
    assert [f["severity"] for f in found] == ["medium"], found
    assert "exfil.example.net:443" in found[0]["message"]


def test_shellchecks_findings_are_reported_at_their_level(bad: Vetted) -> None:
    """SC2086 (unquoted $1, shellcheck's info level) is a low finding on its line."""
    found = bad.findings("shellcheck", "install.sh", line_of(SCRIPT_LINES, "unquoted"))
    assert [(f["severity"], f["message"][:7]) for f in found] == [("low", "SC2086:")], found


def test_what_a_shellcheck_directive_hides_is_listed_as_info(bad: Vetted) -> None:
    """`# shellcheck disable=SC2086` is honoured, and what it hid is listed as info."""
    found = bad.findings("shellcheck", "install.sh", line_of(SCRIPT_LINES, "suppressed"))
    assert [f["severity"] for f in found] == ["info"], found
    assert found[0]["message"].startswith("suppressed by # shellcheck disable: SC2086")


def test_javascript_is_reported_not_analysed(bad: Vetted) -> None:
    """A .js file is code no analyser here reads: "not analysed", failing the default."""
    found = bad.findings("coverage", "helper.js")
    assert [f["severity"] for f in found] == ["medium"], found
    assert found[0]["message"].startswith("not analysed (JavaScript)")


def test_plain_data_is_noted_as_info(bad: Vetted) -> None:
    """A .csv file is data: "not analysed" as info, which fails no threshold."""
    found = bad.findings("coverage", "rows.csv")
    assert [f["severity"] for f in found] == ["info"], found


def test_a_failed_review_exits_1(bad: Vetted) -> None:
    """Findings at or above the threshold: exit 1, and the report says it did not pass."""
    assert bad.code == 1, bad.stderr
    assert bad.report["passed"] is False and bad.report["threshold"] == "medium"


def test_the_json_report_is_one_object_with_scope_and_analysers(bad: Vetted) -> None:
    """--json prints one object: the record's fields, the scope per tool, the analysers."""
    report = bad.report
    assert bad.stdout.count("\n") == 1
    assert {"format", "skill", "content_hash", "vetted_by", "vetted_at", "threshold"} <= set(report)
    assert {"passed", "findings", "analysers", "scope", "requires", "commands"} <= set(report)
    assert set(report["analysers"]) == {"bandit", "shellcheck", "detect-secrets", "skillrt"}
    (scope,) = report["scope"]
    assert (scope["tool"], scope["secrets"], scope["network"]) == ("go", ["DECLARED_TOKEN"], [])
    assert "secrets: DECLARED_TOKEN, as environment variables" in scope["summary"]
    finding = report["findings"][0]
    assert set(finding) == {"severity", "check", "message", "file", "line"}
    assert finding["severity"] == "critical"  # the most severe first


def test_the_record_holds_the_content_hash_and_reads_back(bad: Vetted) -> None:
    """The record beside the folder names the hash the daemon computes, the reviewer and the
    findings, and reads back as what was printed."""
    path = record_path(bad.folder)
    assert path == bad.folder.parent / f"{bad.folder.name}.vet.json"
    record = read_record(path)
    assert record.content_hash == folder_hash(bad.folder) == bad.report["content_hash"]
    assert (record.skill, record.vetted_by) == ("bad-tool", "alice")
    assert record.threshold is Severity.MEDIUM and not record.passed
    assert record.vetted_at.endswith("Z") and record.vetted_at[10] == "T"
    assert record.as_json() == {k: bad.report[k] for k in record.as_json()}
    assert bad.report["record"] == str(path)


def test_a_broken_manifest_is_one_line_naming_the_file_and_exit_2(tmp_path: Path) -> None:
    """A skill.toml that does not load: exit 2, one line naming the file and key, no record."""
    folder = write_bad_tool_skill(tmp_path, "broken")
    (folder / "skill.toml").write_text('colour = "blue"\n' + SKILL_TOML)
    done = vet(str(folder))
    assert done.returncode == 2, done.stdout
    assert done.stderr.count("\n") == 1 and "broken/skill.toml" in done.stderr
    assert "colour" in done.stderr and done.stdout == ""
    assert not record_path(folder).exists()


def test_a_folder_that_is_no_skill_exits_2(tmp_path: Path) -> None:
    """A folder with neither SKILL.md nor skill.toml: exit 2, one line naming it."""
    done = vet(str(tmp_path))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "not a skill folder" in done.stderr


def test_a_record_that_cannot_be_written_exits_2_after_the_report(tmp_path: Path) -> None:
    """When the record's place is taken (a folder), the report is printed, then one line says
    the record was not written: exit 2, and nothing is left behind."""
    folder = write_bad_tool_skill(tmp_path, "unrecorded")
    record_path(folder).mkdir()
    done = vet(str(folder), "--fail-on", "critical")
    assert done.returncode == 2
    assert "content sha256:" in done.stdout
    assert done.stderr.count("\n") == 1 and "cannot write the vet record" in done.stderr
    assert sorted(os.listdir(tmp_path)) == ["unrecorded", "unrecorded.vet.json"]
