"""A full audit log, with room left for the database: no rule, no token and no trusted signer
is made unaudited."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.client import Client
from runtime.core.signing import public_pem
from runtime.util import paths
from tests.api.conftest import Daemon
from tests.faults.conftest import audit_lines, fill

_ATTEMPTS = 50
_FULL = "audit log cannot be written: No space left on device"
# The daemon's own admin token, which it keeps fresh by itself.
_DAEMON_ADMIN = "daemon-admin"


@pytest.fixture
def audit_disk(small_disk_daemon: Daemon) -> Iterator[Path]:
    """A 1 MiB tmpfs of its own that the daemon's audit log lives on (unmounted afterwards)."""
    disk = small_disk_daemon.root / "auditfs"
    disk.mkdir(mode=0o700)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "skillrt-audit", str(disk)],
        check=True,
    )
    (small_disk_daemon.state_dir / "audit.log").symlink_to(disk / "audit.log")
    try:
        yield disk
    finally:
        if small_disk_daemon.process is not None:  # the log's disk goes only after the daemon
            small_disk_daemon.stop()
        subprocess.run(["umount", "--lazy", str(disk)], check=True)


def _refused(disk: Path, call: Callable[[int], object]) -> int:
    """Fill the log's disk again and make ``call`` until it is refused; returns which attempt
    was. A full tmpfs still takes what fits in the last page of the log, so a call may pass:
    it was audited (checked at the end)."""
    for n in range(_ATTEMPTS):
        fill(disk)
        try:
            call(n)
        except grpc.RpcError as exc:
            assert exc.code() is grpc.StatusCode.UNAVAILABLE, exc.details()
            assert exc.details() == _FULL
            return n
    raise AssertionError("every call went ahead with the audit log full")


def test_rules_and_tokens_are_refused_while_the_audit_log_is_full(
    small_disk_daemon: Daemon, audit_disk: Path
) -> None:
    """With the audit log's disk full, CreateRule, DeleteRule, CreateToken, RotateToken and
    RevokeToken answer UNAVAILABLE and change nothing; every one that answered OK, then or after
    space returned, has its entry in the log. The dropped fire-and-forget entries are logged
    one line each, without a traceback, and only the first few."""
    daemon = small_disk_daemon
    daemon.start("--config", str(daemon.root / "skillrt.toml"))
    with Client(daemon.target, token=daemon.owner_token) as client:
        made = {client.create_rule(effect="allow", skill="probe", tool="echo").id}
        kept = client.create_token("kept", "viewer").info.id
        tokens = _users(client)

        def create_rule(_: int) -> None:
            made.add(client.create_rule(effect="allow", skill="probe", tool="echo").id)

        def create_token(n: int) -> None:
            tokens.add(client.create_token(f"agent-{n}", "agent").info.id)

        def rotate_token(_: int) -> None:
            tokens.add(client.rotate_token(kept).info.id)

        _refused(audit_disk, create_rule)
        assert {rule.id for rule in client.list_rules()} == made
        refused = _refused(audit_disk, create_token)
        assert f"agent-{refused}" not in {info.name for info in client.list_tokens()}
        assert _users(client) == tokens
        _refused(audit_disk, rotate_token)
        assert _users(client) == tokens
        doomed = sorted(made)[0]
        _refused(audit_disk, lambda _: client.delete_rule(doomed))
        assert doomed in {rule.id for rule in client.list_rules()}
        _refused(audit_disk, lambda _: client.revoke_token(kept))
        assert not next(i for i in client.list_tokens() if i.id == kept).revoked_at_ms
        for _ in range(20):  # each call's rpc.called entry is dropped
            client.list_rules()

        (audit_disk / "filler").unlink()
        made.add(client.create_rule(effect="deny", skill="probe", tool="echo").id)
        tokens.add(client.create_token("after", "agent").info.id)
        tokens.add(client.rotate_token(kept).info.id)
        client.delete_rule(doomed)
        client.revoke_token(kept)
        assert {rule.id for rule in client.list_rules()} == made - {doomed}
        assert _users(client) == tokens

    entries, _ = audit_lines(daemon)
    created = {e["rule_id"] for e in entries if e["event"] == "rule.created"}
    assert created == made
    assert all(
        e["effect"] and e["skill"] == "probe" for e in entries if e["event"] == "rule.created"
    )
    assert [e["rule_id"] for e in entries if e["event"] == "rule.deleted"] == [doomed]
    audited = {e["token_id"] for e in entries if e["event"] == "token.created"}
    audited |= {e["new_token_id"] for e in entries if e["event"] == "token.rotated"}
    assert tokens <= audited  # the owner's too, from init
    assert [e["token_id"] for e in entries if e["event"] == "token.revoked"] == [kept]
    checked = daemon.audit_verify()
    assert checked.returncode == 0, checked.stdout + checked.stderr

    logs = daemon.logs()
    assert "Traceback" not in logs
    assert 0 < logs.count('"audit entry not written"') <= 5
    assert '"audit entries not written"' in logs


def test_signers_are_not_trusted_or_distrusted_while_the_audit_log_is_full(
    small_disk_daemon: Daemon, audit_disk: Path
) -> None:
    """With the audit log's disk full, TrustSigner and DistrustSigner answer UNAVAILABLE and
    change nothing; once there is room, each change is made and its entry is in the log."""
    daemon = small_disk_daemon
    daemon.start("--config", str(daemon.root / "skillrt.toml"))
    with Client(daemon.target, token=daemon.owner_token) as client:
        client.trust_signer("kept", _public_key())
        trusted = {"kept"}

        def trust(n: int) -> None:
            trusted.add(client.trust_signer(f"signer-{n}", _public_key()).name)

        refused = _refused(audit_disk, trust)
        assert f"signer-{refused}" not in {s.name for s in client.list_signers()}
        assert {s.name for s in client.list_signers()} == trusted
        _refused(audit_disk, lambda _: client.distrust_signer("kept"))
        assert "kept" in {s.name for s in client.list_signers()}
        (audit_disk / "filler").unlink()
        client.distrust_signer("kept")
        assert {s.name for s in client.list_signers()} == trusted - {"kept"}
    entries, _ = audit_lines(daemon)
    assert {e["name"] for e in entries if e["event"] == "signer.trusted"} == trusted
    assert [e["name"] for e in entries if e["event"] == "signer.distrusted"] == ["kept"]


def _public_key() -> str:
    return public_pem(Ed25519PrivateKey.generate().public_key())


def _users(client: Client) -> set[str]:
    return {info.id for info in client.list_tokens() if info.name != _DAEMON_ADMIN}


def _init(state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", "init", "--state-dir", str(state_dir)],
        cwd=paths.PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def _token_ids(state_dir: Path) -> list[str]:
    db = sqlite3.connect(f"file:{state_dir / 'skillrt.db'}?mode=ro", uri=True)
    try:
        return [row[0] for row in db.execute("SELECT id FROM tokens")]
    finally:
        db.close()


def test_init_records_the_owner_token_and_makes_none_it_cannot_record(
    small_disk_daemon: Daemon, audit_disk: Path
) -> None:
    """`skillrt init` with the audit log full fails with one line and stores no token; with
    room it prints the owner token and the log holds its token.created entry."""
    state_dir = small_disk_daemon.state_dir
    fill(audit_disk)
    refused = _init(state_dir)
    assert refused.returncode == 1
    assert refused.stderr == f"skillrt: error: {_FULL}\n"
    assert not refused.stdout
    assert _token_ids(state_dir) == []

    os.unlink(audit_disk / "filler")
    done = _init(state_dir)
    assert done.returncode == 0, done.stderr
    owner_id = done.stdout.split("_")[1]
    assert _token_ids(state_dir) == [owner_id]
    entries, torn = audit_lines(small_disk_daemon)
    assert not torn
    assert [(e["event"], e["token_id"], e["role"]) for e in entries] == [
        ("token.created", owner_id, "owner")
    ]
