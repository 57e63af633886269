"""`skillrt skills keygen|sign|verify` as a person runs them: keys made private and never
overwritten, only a passing vet of the folder as it is now signed, and verify's answer."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.core.signing import KEY_ID
from runtime.util import paths
from tests.signing_fixture import vet, write_key
from tests.skill_fixture import make_skill


def skillrt(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", "skills", *map(str, args)],
        cwd=paths.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_skill(tmp_path / "catalog", "echo-skill")


@pytest.fixture
def key(tmp_path: Path) -> Path:
    """A private key file (0600), its public key beside it as key.pub."""
    path = tmp_path / "key"
    write_key(Ed25519PrivateKey.generate(), path)
    return path


def _one_line_error(done: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert done.returncode == code, done.stderr
    assert done.stderr.count("\n") == 1 and text in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    """keygen prints the key id and writes FILE at 0600 and FILE.pub; run again, it refuses
    to overwrite them (exit 2)."""
    out = tmp_path / "signing.key"
    made = skillrt("keygen", "--out", out)
    assert made.returncode == 0, made.stderr
    assert KEY_ID.match(made.stdout.strip())
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "PUBLIC KEY" in (tmp_path / "signing.key.pub").read_text()
    before = out.read_bytes()
    _one_line_error(skillrt("keygen", "--out", out), 2, "already exists; keygen never overwrites")
    assert out.read_bytes() == before


def test_sign_then_verify_with_the_public_key(folder: Path, key: Path) -> None:
    """A vetted folder signed with the key verifies with its public key (exit 0, --json)."""
    vet(folder)
    signed = skillrt("sign", folder, "--key", key)
    assert signed.returncode == 0, signed.stderr
    assert (folder.parent / "echo-skill.sig.json").is_file()
    assert not (folder / "echo-skill.sig.json").exists()
    checked = skillrt("verify", folder, "--key", f"{key}.pub", "--json")
    assert checked.returncode == 0, checked.stderr
    answer = json.loads(checked.stdout)
    assert answer["verified"] is True and answer["signer"]["name"] == f"{key}.pub"


def test_verify_with_another_key_is_not_verified(folder: Path, key: Path, tmp_path: Path) -> None:
    """Verifying with a key that did not sign says so in one line, exit 1."""
    vet(folder)
    assert skillrt("sign", folder, "--key", key).returncode == 0
    other = write_key(Ed25519PrivateKey.generate(), tmp_path / "other")
    _one_line_error(
        skillrt("verify", folder, "--key", other),
        1,
        "not one of the --key files given",
    )


def test_sign_needs_a_vet_record(folder: Path, key: Path) -> None:
    """Without a vet record beside the folder, sign refuses in one line (exit 1)."""
    _one_line_error(skillrt("sign", folder, "--key", key), 1, "no vet record at ")
    assert not (folder.parent / "echo-skill.sig.json").exists()


def test_sign_refuses_a_folder_changed_since_its_vet(folder: Path, key: Path) -> None:
    """A record of other content: the folder changed since it was vetted (exit 1)."""
    vet(folder)
    (folder / "echo.py").write_text("print('changed')\n")
    _one_line_error(
        skillrt("sign", folder, "--key", key),
        1,
        "the folder changed since it was vetted: run skillrt vet again",
    )


def test_sign_refuses_a_vet_that_did_not_pass(folder: Path, key: Path) -> None:
    """A vet with findings at its threshold cannot be signed (exit 1)."""
    vet(folder, passed=False)
    _one_line_error(skillrt("sign", folder, "--key", key), 1, "the vet did not pass")
    assert not (folder.parent / "echo-skill.sig.json").exists()


def test_sign_refuses_a_record_of_another_skill(folder: Path, key: Path) -> None:
    """A vet record naming another skill is refused (exit 1)."""
    vet(folder, skill="other-skill")
    _one_line_error(
        skillrt("sign", folder, "--key", key), 1, "is for skill 'other-skill', not 'echo-skill'"
    )


def test_sign_refuses_a_key_others_can_read(folder: Path, key: Path) -> None:
    """A private key file readable by its group or others is refused (exit 2), naming it."""
    vet(folder)
    key.chmod(0o640)
    _one_line_error(skillrt("sign", folder, "--key", key), 2, f"--key {key}: readable")


@pytest.mark.parametrize("planted", ["fifo", "symlink"])
def test_sign_refuses_a_planted_vet_record_without_waiting(
    folder: Path, key: Path, tmp_path: Path, planted: str
) -> None:
    """A vet record that is a fifo or a link (planted beside the folder) is refused at once,
    naming it: never waited on, never read through (exit 2)."""
    vet(folder)
    record = folder.parent / f"{folder.name}.vet.json"
    moved = tmp_path / "real.vet.json"
    record.rename(moved)
    if planted == "fifo":
        os.mkfifo(record)
        said = "not a regular file"
    else:
        record.symlink_to(moved)
        said = "a symlink; a vet record must be a file"
    _one_line_error(skillrt("sign", folder, "--key", key), 2, said)
