"""``skillrt console``: accounts over the API, for owners and admins, audited."""

from __future__ import annotations

import json

from tests.console.conftest import ConsoleDaemon


def test_an_admin_manages_approver_accounts(console: ConsoleDaemon) -> None:
    """An admin adds an approver, lists it and removes it; each change is audited."""
    admin = console.token("cli-admin", "admin")
    made = console.cli("console", "add", "lee", "--role", "approver", token=admin)
    assert made.returncode == 0, made.stderr
    assert len(made.stdout.strip()) >= 12
    listed = console.cli("console", "list", "--json", token=admin)
    assert {"name": "lee", "role": "approver", "totp": False} in [
        {k: a[k] for k in ("name", "role", "totp")} for a in json.loads(listed.stdout)
    ]
    assert console.cli("console", "rm", "lee", token=admin).returncode == 0
    created = [e for e in console.audit("console.account_created") if e["name"] == "lee"]
    removed = [e for e in console.audit("console.account_removed") if e["name"] == "lee"]
    assert created[0]["actor"] == removed[0]["actor"] == "cli-admin"


def test_an_admin_cannot_make_an_owner_account(console: ConsoleDaemon) -> None:
    """Making an owner's account is for owners: an admin is refused, and nothing is made."""
    admin = console.token("cli-admin-2", "admin")
    refused = console.cli("console", "add", "boss", "--role", "owner", token=admin)
    assert refused.returncode == 1 and "PERMISSION_DENIED" in refused.stderr
    listed = console.cli("console", "list", "--json")
    assert "boss" not in [a["name"] for a in json.loads(listed.stdout)]


def test_a_viewer_may_not_manage_accounts(console: ConsoleDaemon) -> None:
    """The role table keeps accounts to owners and admins."""
    viewer = console.token("cli-viewer", "viewer")
    refused = console.cli("console", "list", token=viewer)
    assert refused.returncode == 1 and "PERMISSION_DENIED" in refused.stderr


def test_a_chosen_password_is_read_from_stdin(console: ConsoleDaemon) -> None:
    """--password-stdin takes the password from stdin and prints no secret."""
    made = console.cli(
        "console", "add", "mo", "--role", "viewer", "--password-stdin", stdin="a chosen password\n"
    )
    assert (made.returncode, made.stdout) == (0, "")
    browser = console.browser()
    assert browser.sign_in(name="mo", password="a chosen password").status == 303


def test_a_bad_name_is_one_line_and_exit_2(console: ConsoleDaemon) -> None:
    """A name the daemon refuses is exit 2 with one line naming the field."""
    refused = console.cli("console", "add", "no spaces", "--role", "viewer")
    assert refused.returncode == 2
    assert "name:" in refused.stderr and refused.stderr.count("\n") == 1
