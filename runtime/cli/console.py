"""``skillrt console``: web console accounts, over the API (owners and admins; audited)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from runtime.cli.connect import call, target_flags
from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util.table import text_table

__all__ = ["cmd_console", "register"]

_ROLES = ["owner", "admin", "approver", "viewer"]


def register(verbs: Any) -> None:
    console = verbs.add_parser(
        "console",
        help="web console accounts: add, reset, enrol TOTP, list, remove (owners and admins)",
        description="People sign in to the web console with an account's password (and its "
        "TOTP code once enrolled) or with an API token. A password made by the daemon, or a "
        "TOTP secret, is printed once, alone on stdout.",
    )
    actions = console.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="a new account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=_ROLES)
    reset = actions.add_parser("reset", help="a new password (its sessions end)")
    reset.add_argument("name")
    reset.add_argument("--role", choices=_ROLES, help="a new role as well")
    for parser in (add, reset):
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password (12 characters or more) from stdin; default: one is made",
        )
    totp = actions.add_parser("totp", help="enrol a second factor: prints its otpauth:// URI")
    totp.add_argument("name")
    listing = actions.add_parser("list", help="every account, never a secret")
    listing.add_argument("--json", action="store_true")
    remove = actions.add_parser("rm", help="remove an account (its sessions end)")
    remove.add_argument("name")
    for parser in (add, reset, totp, listing, remove):
        target_flags(parser)
        parser.set_defaults(handler=cmd_console)


def cmd_console(args: argparse.Namespace) -> int:
    if args.action in ("add", "reset"):
        password = _password(args)
        if args.action == "add":
            made: pb.ConsoleAccountSecret = call(
                args, lambda c: c.create_console_account(args.name, args.role, password=password)
            )
        else:
            made = call(
                args,
                lambda c: c.reset_console_account(
                    args.name, role=args.role or "", password=password
                ),
            )
        done = "created" if args.action == "add" else "reset"
        print(f"{done} console account {made.account.name} ({made.account.role})", file=sys.stderr)
        if not password:
            print("its password is on stdout, shown this once", file=sys.stderr)
            print(made.password)
        return 0
    if args.action == "totp":
        enrolled: pb.ConsoleTotp = call(args, lambda c: c.enrol_console_totp(args.name))
        print(
            f"enrolled a second factor for {enrolled.account.name}: add the URI on stdout to an "
            "authenticator app (shown this once); signing in now needs its codes",
            file=sys.stderr,
        )
        print(enrolled.uri)
        return 0
    if args.action == "list":
        accounts: list[pb.ConsoleAccount] = call(args, lambda c: c.list_console_accounts())
        if args.json:
            print(json.dumps([_account_dict(a) for a in accounts]))
        else:
            rows = [(a.name, a.role, "yes" if a.totp else "no") for a in accounts]
            print("\n".join(text_table(("NAME", "ROLE", "TOTP"), rows)))
        return 0
    removed: pb.ConsoleAccount = call(args, lambda c: c.remove_console_account(args.name))
    print(f"removed console account {removed.name}")
    return 0


def _password(args: argparse.Namespace) -> str:
    """The password from stdin, or "" for the daemon to make one."""
    if not args.password_stdin:
        return ""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise BadRequest("--password-stdin: stdin gave no password")
    return password


def _account_dict(account: pb.ConsoleAccount) -> dict[str, object]:
    return {
        "name": account.name,
        "role": account.role,
        "totp": account.totp,
        "created_at_ms": account.created_at_ms,
        "changed_at_ms": account.changed_at_ms,
    }
