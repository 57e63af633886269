"""Console accounts: people who sign in to the web console with a password and, optionally, a
second factor (TOTP).

Passwords are stored as argon2id hashes only. A TOTP secret has to be read back to check a
code, so it is stored encrypted (AES-GCM) under a key derived from the daemon's server key,
which lives in its own 0600 file: like the tokens' hashes, a stolen database alone yields
nothing usable. A code is accepted once: the last time step used is remembered, so a code seen
over someone's shoulder cannot be replayed within its window.

An account's principal is ``console:<name>``: its own namespace, apart from token names (which
cannot contain ':'), so that an account is never taken for a token's identity (ownership of
invocations, approvals asked for) and the audit log says where an act came from.
"""

from __future__ import annotations

import datetime
import re
import secrets
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from runtime.auth.roles import Principal, Role
from runtime.errors import BadRequest, IntegrityError, NoSuchEntity, WrongState
from runtime.state.db import Database

__all__ = [
    "ACCOUNT_PREFIX",
    "ISSUER",
    "MIN_PASSWORD",
    "Account",
    "AccountStore",
    "account_principal",
    "check_name",
    "check_password",
    "check_role",
    "new_password",
]

ACCOUNT_PREFIX = "console:"
ISSUER = "skillrt"
MIN_PASSWORD = 12
# People use the console; an agent's work is invoking skills, which the console does not do.
_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.APPROVER, Role.VIEWER})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_MAX_PASSWORD = 1024  # argon2 takes anything; a bound keeps a request's cost bounded
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the name is unknown, so that an unknown name costs what a known one does.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
_COLUMNS = "name, role, password_hash, totp_nonce, totp_secret, totp_step, created_ms, changed_ms"


@dataclass(frozen=True, kw_only=True)
class Account:
    name: str
    role: Role
    totp: bool  # a second factor is enrolled
    created_ms: int
    changed_ms: int  # the password, role or second factor last changed: older sessions end


def account_principal(account: Account) -> Principal:
    return Principal(
        name=ACCOUNT_PREFIX + account.name, role=account.role, authenticated_by="password"
    )


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise BadRequest(f"name: {name!r} must match {_NAME.pattern}")
    return name


def new_password() -> str:
    """A random password for an account made without one (about 143 bits)."""
    return secrets.token_urlsafe(18)


def check_role(role: Role) -> Role:
    if role not in _ROLES:
        raise BadRequest(f"role: a console account is one of {', '.join(sorted(_ROLES))}")
    return role


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= _MAX_PASSWORD:
        raise BadRequest(f"password: {MIN_PASSWORD} to {_MAX_PASSWORD} characters")
    return password


class AccountStore:
    def __init__(self, db: Database, server_key: bytes) -> None:
        self.db = db
        self._cipher = AESGCM(
            HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=b"skillrt console totp"
            ).derive(server_key)
        )

    def get(self, name: str) -> Account:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM console_accounts WHERE name = ?", (name,))
        found = row.one()
        if found is None:
            raise NoSuchEntity(f"no console account {name!r}")
        return _account(found)

    def list(self) -> list[Account]:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM console_accounts ORDER BY name").rows
        return [_account(r) for r in rows]

    def create(self, name: str, role: Role, password: str, now_ms: int) -> Account:
        check_name(name)
        digest = _HASHER.hash(check_password(password))
        with self.db.transaction():
            if self.db.execute("SELECT 1 FROM console_accounts WHERE name = ?", (name,)).one():
                raise WrongState(f"name: console account {name!r} exists; reset it instead")
            self.db.execute(
                "INSERT INTO console_accounts (name, role, password_hash, created_ms, changed_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, check_role(role).value, digest, now_ms, now_ms),
            )
        return self.get(name)

    def reset(self, name: str, role: Role | None, password: str, now_ms: int) -> Account:
        """A new password (and role, if given): the account's sessions end."""
        current = self.get(name)
        digest = _HASHER.hash(check_password(password))
        self.db.execute(
            "UPDATE console_accounts SET role = ?, password_hash = ?, changed_ms = ?"
            " WHERE name = ?",
            (check_role(role or current.role).value, digest, now_ms, name),
        )
        return self.get(name)

    def enrol_totp(self, name: str, now_ms: int) -> tuple[Account, str]:
        """A new TOTP secret for ``name`` (to be shown once), replacing any earlier one."""
        self.get(name)
        secret = pyotp.random_base32()
        nonce = secrets.token_bytes(12)
        sealed = self._cipher.encrypt(nonce, secret.encode(), name.encode())
        self.db.execute(
            "UPDATE console_accounts SET totp_nonce = ?, totp_secret = ?, totp_step = 0,"
            " changed_ms = ? WHERE name = ?",
            (nonce, sealed, now_ms, name),
        )
        return self.get(name), secret

    def remove(self, name: str) -> Account:
        account = self.get(name)
        self.db.execute("DELETE FROM console_accounts WHERE name = ?", (name,))
        return account

    def verify(self, name: str, password: str, code: str, now_ms: int) -> Account | None:
        """The account when the password (and, if enrolled, the code) are right, else None.

        Slow on purpose (argon2): call it off the event loop. An unknown name costs the same.
        """
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM console_accounts WHERE name = ?", (name,)
        ).one()
        stored = str(row[2]) if row is not None else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password[:_MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if row[4] is None:
            return _account(row) if not code else None
        return _account(row) if self._second_factor(row, code, now_ms) else None

    def _second_factor(self, row: tuple[object, ...], code: str, now_ms: int) -> bool:
        name, nonce, sealed, last_step = str(row[0]), row[3], row[4], int(str(row[5]))
        assert isinstance(nonce, bytes) and isinstance(sealed, bytes)
        try:
            secret = self._cipher.decrypt(nonce, sealed, name.encode()).decode()
        except Exception as exc:  # cryptography's InvalidTag: another server key, or tampering
            raise IntegrityError(
                f"console account {name!r}: its second factor cannot be read"
            ) from exc
        totp = pyotp.TOTP(secret)
        now_s = now_ms // 1000
        for drift in (0, -1, 1):  # one step either way, for clocks and slow typing
            at = now_s + drift * totp.interval
            step = totp.timecode(_utc(at))
            if step > last_step and secrets.compare_digest(totp.at(at), code.replace(" ", "")):
                # Used once: the update only applies if no other login took this step first.
                taken = self.db.execute(
                    "UPDATE console_accounts SET totp_step = ? WHERE name = ? AND totp_step < ?",
                    (step, name, step),
                )
                return taken.rowcount == 1
        return False


def _utc(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)


def _account(row: tuple[object, ...]) -> Account:
    name, role, _, _, sealed, _, created, changed = row
    return Account(
        name=str(name),
        role=Role(str(role)),
        totp=sealed is not None,
        created_ms=int(str(created)),
        changed_ms=int(str(changed)),
    )
