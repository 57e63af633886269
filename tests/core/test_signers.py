"""The trusted signers' store: names and keys are each trusted once, and the trusted set the
catalog reads changes with every change and only then."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.core.signers import SignerStore
from runtime.core.signing import key_id, public_pem
from runtime.errors import BadRequest, ConfigError, NoSuchEntity, WrongState
from runtime.state.schema import open_main

ALICE = Ed25519PrivateKey.generate().public_key()
BOB = Ed25519PrivateKey.generate().public_key()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SignerStore]:
    with open_main(tmp_path / "skillrt.db") as db:
        yield SignerStore(db)


def _trust(store: SignerStore, name: str, pem: str = public_pem(ALICE)) -> None:
    store.add(store.new(name=name, public_key_pem=pem, trusted_by="owner", now_ms=1))


def test_a_trusted_key_is_in_the_set_by_its_id(store: SignerStore) -> None:
    """After trusting alice, her key id maps to her name; the set is a new generation."""
    before = store.trusted()
    _trust(store, "alice")
    after = store.trusted()
    assert after.generation != before.generation
    assert after.keys[key_id(ALICE)].name == "alice"
    assert [s.name for s in store.list()] == ["alice"]


def test_the_same_name_twice_is_refused(store: SignerStore) -> None:
    """A second key under a name already used is refused, naming the first key."""
    _trust(store, "alice")
    with pytest.raises(WrongState, match=f"'alice' already names key {key_id(ALICE)}"):
        _trust(store, "alice", public_pem(BOB))


def test_the_same_key_twice_is_refused(store: SignerStore) -> None:
    """A key already trusted is refused under a second name, naming the first."""
    _trust(store, "alice")
    with pytest.raises(WrongState, match="is already trusted, as 'alice'"):
        _trust(store, "alice2")


def test_a_name_shaped_like_a_key_id_is_refused(store: SignerStore) -> None:
    """A name with a colon (another key's id, say) is refused: names and ids never collide."""
    with pytest.raises(BadRequest, match="name: 'ed25519:"):
        _trust(store, key_id(BOB))


def test_a_key_that_is_not_ed25519_is_refused(store: SignerStore) -> None:
    """An EC public key, or text that is no key, is refused naming the field."""
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with pytest.raises(ConfigError, match="public_key_pem: not an Ed25519 public key"):
        _trust(store, "carol", pem)
    with pytest.raises(ConfigError, match="public_key_pem: not a PEM public key"):
        _trust(store, "carol", "hello")


def test_distrust_removes_the_key_from_the_set(store: SignerStore) -> None:
    """Removing alice leaves her key out of the next set; an unknown name is NoSuchEntity."""
    _trust(store, "alice")
    store.remove("alice")
    assert key_id(ALICE) not in store.trusted().keys
    with pytest.raises(NoSuchEntity, match="no trusted signer named 'alice'"):
        store.remove("alice")


def test_the_set_survives_a_reopen(tmp_path: Path) -> None:
    """Trusted signers are stored: a store opened again trusts them."""
    with open_main(tmp_path / "skillrt.db") as db:
        _trust(SignerStore(db), "alice")
    with open_main(tmp_path / "skillrt.db") as db:
        assert key_id(ALICE) in SignerStore(db).trusted().keys
