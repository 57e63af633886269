"""`skillrt vet` finds keys in the forms agent skills hold them, beyond detect-secrets' own
detectors: model providers' sk- keys, Google, GitLab and Hugging Face tokens, a bearer token in
a header, a key-like value given to a bare KEY or TOKEN name; and leaves plain constants alone."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from runtime.util import paths

# Made of parts, so that no whole key is written in this repository (none is real).
_DIGITS = "4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
KEYS = {
    "sk-key": 'KEY = "sk-' + "live-" + _DIGITS + '"',
    "sk-proj-key": 'client = Client(api="sk-' + "proj-" + "Xq3Lr9Tz8VbN2mKp4WsJ7YhGf6DcE1aB" + '")',
    "google-key": 'maps = "AI' + "za" + "SyD3x9Lr2Tq8Vb7Nm4Kp1WsJ6YhGf5DcE0a" + '"',
    "gitlab-token": 'auth = "glp' + "at-" + "x9Lr2Tq8Vb7Nm4Kp1WsJ" + '"',
    "bearer-header": 'headers = {"Authorization": "Bear' + "er " + _DIGITS + '"}',
    "bare-token-name": 'TOKEN = "' + "q8Vb7Nm4Kp1WsJ6YhGf5DcE0" + '"',
}
HARMLESS = {
    "constant-name": 'MODE_KEY = "use_the_default_mode_please"',
    "version": 'VERSION = "1.0.0"',
}
_LINES = [*KEYS.values(), *HARMLESS.values()]
SKILL_TOML = """\
version = "1.0.0"
profile = "default"

[[tools]]
name = "go"
entrypoint = ["/usr/bin/python3", "/skill/main.py"]
input_schema = { type = "object" }
"""


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[dict[str, Any]]]:
    """The secrets findings of a skill whose main.py holds every line above, by line."""
    folder = tmp_path_factory.mktemp("keys") / "keys"
    folder.mkdir()
    (folder / "SKILL.md").write_text("---\nname: keys\ndescription: Keys.\n---\nKeys.\n")
    (folder / "skill.toml").write_text(SKILL_TOML)
    (folder / "main.py").write_text("\n".join(_LINES) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", "vet", str(folder), "--json", "--no-record"],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stdout)
    by_line: dict[int, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        if finding["check"] == "secrets" and finding["file"] == "main.py":
            by_line.setdefault(finding["line"], []).append(finding)
    assert _DIGITS not in done.stdout + done.stderr
    return by_line


@pytest.mark.parametrize("name", sorted(KEYS))
def test_a_key_in_a_common_form_is_a_high_finding(
    findings: dict[int, list[dict[str, Any]]], name: str
) -> None:
    """Each key form is found on its line, as high."""
    line = _LINES.index(KEYS[name]) + 1
    assert [f["severity"] for f in findings.get(line, [])] == ["high"], findings


@pytest.mark.parametrize("name", sorted(HARMLESS))
def test_a_plain_constant_is_not_taken_for_a_key(
    findings: dict[int, list[dict[str, Any]]], name: str
) -> None:
    """A constant without a key's shape is not a secrets finding."""
    assert _LINES.index(HARMLESS[name]) + 1 not in findings
