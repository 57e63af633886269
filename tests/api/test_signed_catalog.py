"""A daemon with `[catalog] require_signed = true`: it serves only skills signed by a key it
trusts, in exactly the form signed, and says why it refuses the others; trust is the owner's,
audited, and takes effect at once."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.audit import events
from runtime.audit.query import entries
from runtime.client import Client
from runtime.core.signing import key_id, public_pem
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.api.conftest import Daemon, cleanup, make_daemon
from tests.approvals.conftest import create_token
from tests.signing_fixture import sign_folder, vet, write_key

ALICE = Ed25519PrivateKey.generate()
_SIGNED = "[catalog]\nrequire_signed = true\n"


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    """One daemon that requires signed skills and trusts alice's key."""
    instance = make_daemon()
    config = instance.root / "skillrt.toml"
    config.write_text(_SIGNED)
    instance.start("--config", str(config))
    with Client(instance.target, token=instance.owner_token) as client:
        client.trust_signer("alice", public_pem(ALICE.public_key()))
    yield instance
    cleanup(instance)


@pytest.fixture
def client(daemon: Daemon) -> Iterator[Client]:
    with Client(daemon.target, token=daemon.owner_token) as owner:
        yield owner


def _skill(daemon: Daemon, name: str) -> Path:
    """A copy of the probe skill named ``name``, unsigned."""
    folder = daemon.catalog / name
    shutil.copytree(daemon.catalog / "probe", folder)
    md = folder / "SKILL.md"
    md.write_text(md.read_text().replace("name: probe", f"name: {name}"))
    return folder


def _listed(client: Client, name: str) -> pb.Skill:
    return next(skill for skill in client.list_skills() if skill.name == name)


def _invoke(client: Client, name: str) -> pb.Invocation:
    return client.invoke(name, "echo", "{}", timeout=60)


def _refused(client: Client, name: str) -> str:
    """Invoke is FAILED_PRECONDITION; its message."""
    with pytest.raises(grpc.RpcError) as info:
        _invoke(client, name)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    return str(info.value.details())


def test_an_unsigned_skill_is_refused_saying_why(client: Client) -> None:
    """The unsigned probe is listed unavailable with what to do; Invoke names it."""
    listed = _listed(client, "probe")
    assert not listed.available
    assert listed.unavailable_reason == (
        "unsigned: no probe.sig.json beside the folder; vet and sign it (skillrt vet, "
        "skillrt skills sign)"
    )
    assert _refused(client, "probe") == f"skill 'probe' is unavailable: {listed.unavailable_reason}"


def test_a_signed_skill_runs_and_names_its_signer(daemon: Daemon, client: Client) -> None:
    """Signed by alice as it is: it runs, and the listing says alice signed it."""
    sign_folder(_skill(daemon, "signed"), ALICE)
    assert _invoke(client, "signed").result.status == pb.STATUS_OK
    signer = _listed(client, "signed").signed_by
    assert (signer.name, signer.key_id) == ("alice", key_id(ALICE.public_key()))
    shown = daemon.cli("skills", "--target", daemon.target, "--token-file", _token(daemon))
    assert f"signed by alice ({key_id(ALICE.public_key())})" in shown.stdout


def test_one_byte_changed_is_refused_and_signed_again_it_runs(
    daemon: Daemon, client: Client
) -> None:
    """A signed skill changed by one byte is refused; vetted and signed again, it runs."""
    folder = _skill(daemon, "changed")
    sign_folder(folder, ALICE)
    assert _invoke(client, "changed").result.status == pb.STATUS_OK
    with (folder / "probe.py").open("a") as code:
        code.write("\n")
    assert "changed since it was signed" in _refused(client, "changed")
    sign_folder(folder, ALICE)
    assert _invoke(client, "changed").result.status == pb.STATUS_OK


def test_a_signer_not_trusted_is_refused(daemon: Daemon, client: Client) -> None:
    """Signed by a key the daemon does not trust: refused, naming the key."""
    mallory = Ed25519PrivateKey.generate()
    sign_folder(_skill(daemon, "untrusted"), mallory)
    reason = _refused(client, "untrusted")
    assert f"signed by key {key_id(mallory.public_key())}, not one of this daemon's" in reason


def test_distrust_takes_effect_at_once(daemon: Daemon, client: Client) -> None:
    """Bob's skill runs while he is trusted, is refused on the next call after distrust, and
    runs again once he is trusted again; each change is audited with key id and name."""
    bob = Ed25519PrivateKey.generate()
    sign_folder(_skill(daemon, "bobs"), bob)
    client.trust_signer("bob", public_pem(bob.public_key()))
    assert _invoke(client, "bobs").result.status == pb.STATUS_OK
    client.distrust_signer("bob")
    assert "not one of this daemon's trusted signers" in _refused(client, "bobs")
    client.trust_signer("bob", public_pem(bob.public_key()))
    assert _invoke(client, "bobs").result.status == pb.STATUS_OK
    audited = [
        (e.event, e.actor, e.fields["key_id"], e.fields["name"])
        for e in entries(daemon.state_dir / "audit.log")
        if e.event in (events.SIGNER_TRUSTED, events.SIGNER_DISTRUSTED)
        and e.fields["name"] == "bob"
    ]
    bob_id = key_id(bob.public_key())
    assert audited == [
        (events.SIGNER_TRUSTED, "owner", bob_id, "bob"),
        (events.SIGNER_DISTRUSTED, "owner", bob_id, "bob"),
        (events.SIGNER_TRUSTED, "owner", bob_id, "bob"),
    ]


def test_the_same_key_or_name_twice_is_refused(client: Client) -> None:
    """Alice's key under a new name, or her name for a new key: FAILED_PRECONDITION."""
    for name, key in (("alice2", ALICE), ("alice", Ed25519PrivateKey.generate())):
        with pytest.raises(grpc.RpcError) as info:
            client.trust_signer(name, public_pem(key.public_key()))
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert [s.name for s in client.list_signers()].count("alice") == 1


def test_only_the_owner_trusts(daemon: Daemon) -> None:
    """An admin may list signers but not trust or distrust one (PERMISSION_DENIED)."""
    admin = create_token(daemon, "signing-admin", "admin")
    with Client(daemon.target, token=admin) as client:
        assert "alice" in [s.name for s in client.list_signers()]
        for change in (
            lambda: client.trust_signer(
                "eve", public_pem(Ed25519PrivateKey.generate().public_key())
            ),
            lambda: client.distrust_signer("alice"),
        ):
            with pytest.raises(grpc.RpcError) as info:
                change()
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def _token(daemon: Daemon) -> str:
    path = daemon.root / "owner.token"
    path.write_text(daemon.owner_token)
    path.chmod(0o600)
    return str(path)


def test_trust_and_verify_from_the_command_line(daemon: Daemon, tmp_path: Path) -> None:
    """`skills trust` makes a key trusted; `skills sign` signs a vetted folder, which
    `skills verify` checks against the daemon's signers (exit 0), and refuses once a byte
    changed (exit 1, one line)."""
    folder = _skill(daemon, "by-cli")
    key = tmp_path / "carol.key"
    target = ("--target", daemon.target, "--token-file", _token(daemon))
    trusted = daemon.cli(
        "skills",
        "trust",
        str(write_key(Ed25519PrivateKey.generate(), key)),
        "--name",
        "carol",
        *target,
    )
    assert trusted.returncode == 0 and trusted.stdout.startswith("trusted carol ("), trusted.stderr
    listed = daemon.cli("skills", "signers", "--json", *target)
    assert "carol" in [s["name"] for s in json.loads(listed.stdout)]
    vet(folder)
    assert daemon.cli("skills", "sign", str(folder), "--key", str(key)).returncode == 0
    verified = daemon.cli("skills", "verify", str(folder), *target)
    assert verified.returncode == 0 and "signed by carol" in verified.stdout, verified.stderr
    with (folder / "probe.py").open("a") as code:
        code.write("\n")
    refused = daemon.cli("skills", "verify", str(folder), *target)
    assert refused.returncode == 1
    assert refused.stderr.startswith("skillrt: error: not verified: changed since it was signed")


def test_trust_names_the_signer_after_its_key_file(daemon: Daemon, tmp_path: Path) -> None:
    """Without --name, `skills trust dave.key.pub` trusts the key as dave."""
    key = tmp_path / "dave.key"
    public = write_key(Ed25519PrivateKey.generate(), key)
    target = ("--target", daemon.target, "--token-file", _token(daemon))
    trusted = daemon.cli("skills", "trust", str(public), *target)
    assert trusted.returncode == 0 and trusted.stdout.startswith("trusted dave ("), trusted.stderr


def test_reload_switches_require_signed(daemon: Daemon, client: Client) -> None:
    """require_signed turned off by a reload serves the unsigned probe; on again, refuses it."""
    config = daemon.root / "skillrt.toml"
    try:
        config.write_text("[catalog]\nrequire_signed = false\n")
        assert client.reload() == ["require_signed"]
        assert _invoke(client, "probe").result.status == pb.STATUS_OK
        assert not _listed(client, "probe").HasField("signed_by")
    finally:
        config.write_text(_SIGNED)
        assert client.reload() == ["require_signed"]
    assert "unsigned" in _refused(client, "probe")
