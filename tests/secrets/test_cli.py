"""``skillrt secrets``: values in through stdin or a file, never printed, every change audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.audit import events
from runtime.audit.query import entries
from runtime.errors import NotAllowed
from runtime.secrets.keys import KeyFile
from runtime.secrets.store import SecretStore
from tests.cli.test_cli import assert_one_line_error, skillrt
from tests.secrets.conftest import VALUE, secret_skill_toml
from tests.skill_fixture import make_skill


def _open(state: Path) -> SecretStore:
    return SecretStore(state / "secrets.db", KeyFile(state / "secrets.key"))


def _events(state: Path) -> list[tuple[str, dict[str, object]]]:
    return [(e.event, dict(e.fields)) for e in entries(state / "audit.log")]


def test_set_from_stdin(tmp_path: Path) -> None:
    """The value comes from stdin (its trailing newline dropped) and is never echoed."""
    proc = skillrt(
        "secrets", "set", "API_KEY", "--state-dir", str(tmp_path), stdin=f"{VALUE.decode()}\n"
    )
    assert (proc.returncode, proc.stdout) == (0, "set API_KEY\n"), proc.stderr
    assert VALUE.decode() not in proc.stdout + proc.stderr
    assert _open(tmp_path).get("API_KEY") == VALUE
    assert _events(tmp_path) == [(events.SECRET_SET, {"name": "API_KEY", "kind": "value"})]
    assert VALUE not in (tmp_path / "audit.log").read_bytes()


def test_set_from_file_is_exact(tmp_path: Path) -> None:
    """--from-file keeps the file's bytes as they are."""
    source = tmp_path / "value.txt"
    source.write_bytes(b"line one\nline two\n")
    proc = skillrt(
        "secrets", "set", "CERT", "--from-file", str(source), "--state-dir", str(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    assert _open(tmp_path).get("CERT") == b"line one\nline two\n"


def test_value_on_the_command_line_is_refused(tmp_path: Path) -> None:
    """There is no way to give a value in argv, where every user of the host could read it."""
    proc = skillrt("secrets", "set", "API_KEY", VALUE.decode(), "--state-dir", str(tmp_path))
    assert_one_line_error(proc, "unrecognized arguments")


def test_list_shows_users_and_missing_never_values(tmp_path: Path, reachable_tmp: Path) -> None:
    """list names each secret with the skills that use it, and declared ones not set yet."""
    make_skill(reachable_tmp, "needs-keys", toml=secret_skill_toml(["API_KEY", "DB_PASSWORD"]))
    _open(tmp_path).set("API_KEY", VALUE)
    state = ["--state-dir", str(tmp_path)]
    proc = skillrt("--catalog", str(reachable_tmp), "secrets", "list", "--json", *state)
    assert proc.returncode == 0, proc.stderr
    assert VALUE.decode() not in proc.stdout
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert (rows["API_KEY"]["used_by"], rows["API_KEY"]["state"]) == (["needs-keys"], "active")
    assert rows["DB_PASSWORD"]["state"] == "not set"
    text = skillrt("--catalog", str(reachable_tmp), "secrets", "list", *state).stdout
    assert text.splitlines()[0].split() == [
        "NAME",
        "KIND",
        "USED",
        "BY",
        "LAST",
        "ROTATION",
        "STATE",
    ]


def test_rm(tmp_path: Path) -> None:
    """rm deletes the secret and records it."""
    _open(tmp_path).set("API_KEY", VALUE)
    proc = skillrt("secrets", "rm", "API_KEY", "--state-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert _open(tmp_path).names() == []
    assert _events(tmp_path) == [(events.SECRET_REMOVED, {"name": "API_KEY"})]


def test_rotate_key(tmp_path: Path) -> None:
    """rotate-key re-encrypts under a new key file; values still read back."""
    _open(tmp_path).set("API_KEY", VALUE)
    old = KeyFile(tmp_path / "secrets.key").load()
    proc = skillrt("secrets", "rotate-key", "--state-dir", str(tmp_path))
    new = KeyFile(tmp_path / "secrets.key").load()
    assert proc.stdout.strip() == f"re-encrypted 1 secrets under key {new.id}", proc.stderr
    assert new.id != old.id
    assert _open(tmp_path).get("API_KEY") == VALUE
    assert _events(tmp_path) == [(events.SECRET_KEY_ROTATED, {"key_id": new.id, "secrets": 1})]


def test_oauth_credential_revoked_locally(tmp_path: Path) -> None:
    """An OAuth credential set with --oauth and revoked stops working."""
    credential = {
        "client_id": "c",
        "client_secret": "client-secret",
        "refresh_token": "refresh-token",
        "token_endpoint": "https://oauth2.example.com/token",
    }
    state = ["--state-dir", str(tmp_path)]
    assert (
        skillrt(
            "secrets", "set", "GITHUB", "--oauth", *state, stdin=json.dumps(credential)
        ).returncode
        == 0
    )
    proc = skillrt("secrets", "revoke", "GITHUB", "--local-only", *state)
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(NotAllowed):
        _open(tmp_path).get("GITHUB")
    assert [event for event, _ in _events(tmp_path)] == [events.SECRET_SET, events.SECRET_REVOKED]
