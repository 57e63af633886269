"""Console accounts in SQLite: argon2 passwords, sealed TOTP secrets used once, resets."""

from __future__ import annotations

import secrets
from pathlib import Path

import pyotp
import pytest

from runtime.auth.accounts import AccountStore, account_principal
from runtime.auth.roles import Role
from runtime.errors import BadRequest, WrongState
from runtime.state.schema import open_main

_PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(tmp_path: Path) -> AccountStore:
    return AccountStore(open_main(tmp_path / "skillrt.db"), secrets.token_bytes(32))


def test_the_right_password_verifies_and_a_wrong_one_does_not(accounts: AccountStore) -> None:
    """verify returns the account for its password, None for another or an unknown name."""
    accounts.create("ann", Role.APPROVER, _PASSWORD, 1)
    found = accounts.verify("ann", _PASSWORD, "", 2)
    assert found is not None and found.role is Role.APPROVER
    assert accounts.verify("ann", _PASSWORD + "!", "", 2) is None
    assert accounts.verify("bob", _PASSWORD, "", 2) is None


def test_the_database_holds_no_password_nor_totp_secret(accounts: AccountStore) -> None:
    """The row holds an argon2id hash and a sealed secret, neither the password nor the
    secret in the clear."""
    accounts.create("ann", Role.APPROVER, _PASSWORD, 1)
    _, secret = accounts.enrol_totp("ann", 2)
    row = accounts.db.execute("SELECT password_hash, totp_secret FROM console_accounts").one()
    assert row is not None
    assert str(row[0]).startswith("$argon2id$") and _PASSWORD not in str(row[0])
    assert secret.encode() not in bytes(row[1])


def test_a_totp_code_is_accepted_once(accounts: AccountStore) -> None:
    """With a second factor, the password needs the current code, and a code works once."""
    accounts.create("ann", Role.APPROVER, _PASSWORD, 1)
    _, secret = accounts.enrol_totp("ann", 2)
    now_ms = 1_700_000_000_000
    code = pyotp.TOTP(secret).at(now_ms // 1000)
    assert accounts.verify("ann", _PASSWORD, "", now_ms) is None
    assert accounts.verify("ann", _PASSWORD, code, now_ms) is not None
    assert accounts.verify("ann", _PASSWORD, code, now_ms) is None


def test_a_code_for_an_account_without_totp_is_refused(accounts: AccountStore) -> None:
    """A code given for an account with no second factor is not ignored: it is refused."""
    accounts.create("ann", Role.APPROVER, _PASSWORD, 1)
    assert accounts.verify("ann", _PASSWORD, "123456", 2) is None


def test_a_reset_changes_the_password_and_the_change_time(accounts: AccountStore) -> None:
    """After a reset the old password fails, the new one works, and changed_ms moves on."""
    made = accounts.create("ann", Role.APPROVER, _PASSWORD, 1)
    reset = accounts.reset("ann", Role.VIEWER, "a brand new password", 5)
    assert (reset.changed_ms, reset.role) == (5, Role.VIEWER) and made.changed_ms == 1
    assert accounts.verify("ann", _PASSWORD, "", 6) is None
    assert accounts.verify("ann", "a brand new password", "", 6) is not None


@pytest.mark.parametrize(
    ("name", "role", "password", "named"),
    [
        ("a b", Role.APPROVER, _PASSWORD, "name:"),
        ("ann", Role.AGENT, _PASSWORD, "role:"),
        ("ann", Role.APPROVER, "short", "password:"),
    ],
    ids=["name", "agent-role", "short-password"],
)
def test_bad_accounts_are_refused_naming_the_field(
    accounts: AccountStore, name: str, role: Role, password: str, named: str
) -> None:
    """A bad name, an agent's role or a short password is refused, naming the field."""
    with pytest.raises(BadRequest, match=f"^{named}"):
        accounts.create(name, role, password, 1)


def test_an_account_is_made_once(accounts: AccountStore) -> None:
    """Making an account whose name exists is refused (a reset is the way)."""
    accounts.create("ann", Role.APPROVER, _PASSWORD, 1)
    with pytest.raises(WrongState):
        accounts.create("ann", Role.VIEWER, _PASSWORD, 2)


def test_an_accounts_principal_has_its_own_namespace(accounts: AccountStore) -> None:
    """An account named like a token is still another principal: console:<name>."""
    made = accounts.create("owner", Role.VIEWER, _PASSWORD, 1)
    assert account_principal(made).name == "console:owner"
