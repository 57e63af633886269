"""The secrets store: encrypted at rest, bound to names, keyed apart, rotated atomically."""

from __future__ import annotations

import base64
import os
import sqlite3
import sys
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runtime.core.catalog import Catalog, secret_users
from runtime.errors import (
    BadRequest,
    ConfigError,
    IntegrityError,
    NoSuchEntity,
    NotAllowed,
    UpstreamError,
)
from runtime.secrets.keys import ENV_KEY, CommandKey, EnvKey, Key, KeyFile, key_source
from runtime.secrets.store import SecretStore
from tests.secrets.conftest import VALUE, secret_skill_toml
from tests.skill_fixture import make_skill


def _raw_files(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob("secrets.db*"))


def test_set_and_get(store: SecretStore) -> None:
    """A value comes back as it was set."""
    store.set("API_KEY", VALUE)
    assert store.get("API_KEY") == VALUE


def test_value_is_unreadable_in_the_file(tmp_path: Path, store: SecretStore) -> None:
    """Neither the value nor its base64 is anywhere in the database's bytes; the name is."""
    store.set("API_KEY", VALUE)
    store.close()
    raw = _raw_files(tmp_path)
    assert b"API_KEY" in raw
    assert VALUE not in raw
    assert base64.b64encode(VALUE) not in raw


def test_files_are_private(tmp_path: Path, store: SecretStore) -> None:
    """The database and the key file it created are mode 0600."""
    store.set("API_KEY", VALUE)
    for name in ("secrets.db", "secrets.key"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name


def test_each_encryption_has_its_own_nonce(tmp_path: Path, store: SecretStore) -> None:
    """Setting the same value twice stores different nonces and ciphertexts."""
    db = sqlite3.connect(tmp_path / "secrets.db")
    store.set("API_KEY", VALUE)
    first = db.execute("SELECT nonce, ciphertext FROM secrets").fetchone()
    store.set("API_KEY", VALUE)
    second = db.execute("SELECT nonce, ciphertext FROM secrets").fetchone()
    db.close()
    assert len(first[0]) == 12
    assert first[0] != second[0] and first[1] != second[1]


def test_a_row_moved_to_another_name_fails(tmp_path: Path, store: SecretStore) -> None:
    """The name is bound as associated data: a renamed row does not decrypt."""
    store.set("API_KEY", VALUE)
    db = sqlite3.connect(tmp_path / "secrets.db")
    db.execute("UPDATE secrets SET name = 'OTHER_KEY'")
    db.commit()
    db.close()
    with pytest.raises(IntegrityError, match="OTHER_KEY: cannot decrypt"):
        store.get("OTHER_KEY")


def test_values_stay_out_of_messages_and_reprs(store: SecretStore) -> None:
    """Errors and reprs name secrets, never show their values or the key."""
    store.set("API_KEY", VALUE)
    key = KeyFile(store.path.with_name("secrets.key")).load()
    shown = [repr(store), repr(key), repr(store.names()), repr(EnvKey("c2VjcmV0"))]
    with pytest.raises(NoSuchEntity) as missing:
        store.get("NOPE")
    shown.append(str(missing.value))
    for text in shown:
        assert VALUE.decode() not in text
        assert base64.b64encode(key.material).decode() not in text


@pytest.mark.parametrize(
    ("name", "reason"),
    [("api_key", "must match"), ("LD_PRELOAD", "reserved"), ("PATH", "reserved")],
)
def test_bad_names_are_refused(store: SecretStore, name: str, reason: str) -> None:
    """Names must be upper-case identifiers and not change how the launcher runs."""
    with pytest.raises(BadRequest, match=reason):
        store.set(name, VALUE)


@pytest.mark.parametrize(
    ("value", "reason"),
    [(b"", "empty"), (b"a\0b", "NUL"), (b"\xff\xfe", "not UTF-8")],
)
def test_values_that_cannot_be_env_vars_are_refused(
    store: SecretStore, value: bytes, reason: str
) -> None:
    """Every value must be able to become an environment variable."""
    with pytest.raises(BadRequest, match=reason):
        store.set("API_KEY", value)


def test_names_carry_metadata_and_users(reachable_tmp: Path, store: SecretStore) -> None:
    """names() lists kind, times and the skills that declare each secret, never values."""
    toml = secret_skill_toml(["API_KEY"])
    make_skill(reachable_tmp, "uses-key", toml=toml)
    make_skill(reachable_tmp, "no-secrets")
    store.set("API_KEY", VALUE)
    store.set("UNUSED", VALUE)
    infos = {info.name: info for info in store.names(secret_users(Catalog(reachable_tmp)))}
    assert infos["API_KEY"].used_by == ("uses-key",)
    assert infos["UNUSED"].used_by == ()
    assert infos["API_KEY"].created_ms == infos["API_KEY"].rotated_ms


def test_remove(store: SecretStore) -> None:
    """A removed secret is gone; removing it again is NOT_FOUND."""
    store.set("API_KEY", VALUE)
    store.remove("API_KEY")
    with pytest.raises(NoSuchEntity):
        store.get("API_KEY")
    with pytest.raises(NoSuchEntity):
        store.remove("API_KEY")


def test_revoked_secret_is_refused_until_set_again(store: SecretStore) -> None:
    """A revoked secret is PERMISSION_DENIED; a new value un-revokes it."""
    store.set("API_KEY", VALUE)
    store.revoke("API_KEY")
    with pytest.raises(NotAllowed, match="API_KEY was revoked"):
        store.get("API_KEY")
    store.set("API_KEY", b"new value")
    assert store.get("API_KEY") == b"new value"


def test_key_file_readable_by_others_is_refused(tmp_path: Path, store: SecretStore) -> None:
    """A key file with group or other permissions is refused, not used."""
    store.set("API_KEY", VALUE)
    (tmp_path / "secrets.key").chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        SecretStore(tmp_path / "secrets.db", KeyFile(tmp_path / "secrets.key")).get("API_KEY")


def test_environment_key(tmp_path: Path) -> None:
    """$SKILLRT_SECRETS_KEY wins over the key file, and no key file is created."""
    encoded = base64.b64encode(os.urandom(32)).decode()
    source = key_source(tmp_path / "secrets.key", environ={ENV_KEY: encoded})
    store = SecretStore(tmp_path / "secrets.db", source)
    store.set("API_KEY", VALUE)
    assert SecretStore(tmp_path / "secrets.db", EnvKey(encoded)).get("API_KEY") == VALUE
    assert not (tmp_path / "secrets.key").exists()


def test_wrong_key_is_named(tmp_path: Path, store: SecretStore) -> None:
    """A store opened with another key says which key each side has."""
    store.set("API_KEY", VALUE)
    other = EnvKey(base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(IntegrityError, match=r"encrypted under key [0-9a-f]{16}, but"):
        SecretStore(tmp_path / "secrets.db", other).get("API_KEY")


def test_command_key(tmp_path: Path) -> None:
    """A key command's stdout is the key; a failing command is UNAVAILABLE."""
    encoded = base64.b64encode(os.urandom(32)).decode()
    printer = CommandKey([sys.executable, "-c", f"print({encoded!r})"])
    SecretStore(tmp_path / "secrets.db", printer).set("API_KEY", VALUE)
    assert SecretStore(tmp_path / "secrets.db", EnvKey(encoded)).get("API_KEY") == VALUE
    failing = CommandKey([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(UpstreamError, match="exited with status 3"):
        SecretStore(tmp_path / "other.db", failing).set("API_KEY", VALUE)


def test_rotation_reencrypts_and_retires_the_old_key(
    tmp_path: Path, store: SecretStore, key_file: KeyFile
) -> None:
    """After rotate_key every row uses the new key and the old key decrypts nothing."""
    store.set("API_KEY", VALUE)
    store.set("OTHER", b"second value")
    old = key_file.load()
    new = store.rotate_key()
    assert new.id != old.id
    assert key_file.load() == new
    assert not (tmp_path / "secrets.key.new").exists()
    rows = _rows(tmp_path)
    assert {key_id for _, key_id, _, _ in rows} == {new.id}
    for name, _, nonce, ciphertext in rows:
        aad = f"skillrt secret\0{name}\0value".encode()
        with pytest.raises(InvalidTag):
            AESGCM(old.material).decrypt(nonce, ciphertext, aad)
    reopened = SecretStore(tmp_path / "secrets.db", KeyFile(tmp_path / "secrets.key"))
    assert (reopened.get("API_KEY"), reopened.get("OTHER")) == (VALUE, b"second value")
    with pytest.raises(IntegrityError):
        SecretStore(tmp_path / "secrets.db", EnvKey(_b64(old.material))).get("API_KEY")


def test_failed_rotation_changes_nothing(
    tmp_path: Path, store: SecretStore, key_file: KeyFile
) -> None:
    """A row that cannot be re-encrypted rolls the whole rotation back; the old key stays."""
    store.set("API_KEY", VALUE)
    store.set("BROKEN", VALUE)
    old = key_file.load()
    db = sqlite3.connect(tmp_path / "secrets.db")
    (ciphertext,) = db.execute("SELECT ciphertext FROM secrets WHERE name = 'BROKEN'").fetchone()
    flipped = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    db.execute("UPDATE secrets SET ciphertext = ? WHERE name = 'BROKEN'", (flipped,))
    db.commit()
    db.close()
    with pytest.raises(IntegrityError, match="BROKEN"):
        store.rotate_key()
    assert key_file.load() == old
    assert not (tmp_path / "secrets.key.new").exists()
    assert {key_id for _, key_id, _, _ in _rows(tmp_path)} == {old.id}
    assert store.get("API_KEY") == VALUE


class _CrashBeforeRename(KeyFile):
    def commit(self, key: Key) -> None:
        raise KeyboardInterrupt  # the process dies between the commit and the rename


def test_interrupted_rotation_is_finished_on_open(tmp_path: Path, store: SecretStore) -> None:
    """Rows committed under the new key but the key file not renamed: the next open finishes."""
    store.set("API_KEY", VALUE)
    store.close()
    crashing = SecretStore(tmp_path / "secrets.db", _CrashBeforeRename(tmp_path / "secrets.key"))
    with pytest.raises(KeyboardInterrupt):
        crashing.rotate_key()
    assert (tmp_path / "secrets.key.new").exists()
    reopened = SecretStore(tmp_path / "secrets.db", KeyFile(tmp_path / "secrets.key"))
    assert reopened.get("API_KEY") == VALUE
    assert not (tmp_path / "secrets.key.new").exists()


def test_writes_follow_a_rotation_made_elsewhere(tmp_path: Path, store: SecretStore) -> None:
    """A store whose key was rotated by another process writes under the new key."""
    store.set("API_KEY", VALUE)  # the old key is now cached
    other = SecretStore(tmp_path / "secrets.db", KeyFile(tmp_path / "secrets.key"))
    other.rotate_key()
    store.set("SECOND", b"second value")
    fresh = SecretStore(tmp_path / "secrets.db", KeyFile(tmp_path / "secrets.key"))
    assert (fresh.get("API_KEY"), fresh.get("SECOND")) == (VALUE, b"second value")


def test_external_key_rotation_needs_the_new_key(tmp_path: Path) -> None:
    """With a key from the environment, rotate_key takes the new key from the caller."""
    old = base64.b64encode(os.urandom(32)).decode()
    store = SecretStore(tmp_path / "secrets.db", EnvKey(old))
    store.set("API_KEY", VALUE)
    with pytest.raises(BadRequest, match="give the new key"):
        store.rotate_key()
    material = os.urandom(32)
    store.rotate_key(material)
    assert SecretStore(tmp_path / "secrets.db", EnvKey(_b64(material))).get("API_KEY") == VALUE


def _rows(tmp_path: Path) -> list[tuple[str, str, bytes, bytes]]:
    db = sqlite3.connect(tmp_path / "secrets.db")
    try:
        return db.execute("SELECT name, key_id, nonce, ciphertext FROM secrets").fetchall()
    finally:
        db.close()


def _b64(material: bytes) -> str:
    return base64.b64encode(material).decode()
