"""``skillrt secrets``: set, list, remove, revoke and re-key the daemon's secrets.

The verbs open the secrets store directly (the daemon may be running: the database is safe to
share between processes). Values are read from stdin or a file, never from the command line,
and never printed. Every change is itself recorded in the audit log.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime.api.config import DaemonConfig
from runtime.audit import events
from runtime.cli.state_dir import add_state_flag, load_state, record
from runtime.core.catalog import Catalog, secret_users
from runtime.errors import BadRequest, UpstreamError
from runtime.secrets.keys import key_source
from runtime.secrets.oauth import OAuthBroker, parse_credential
from runtime.secrets.store import Kind, SecretStore
from runtime.util import paths
from runtime.util.table import text_table

__all__ = [
    "cmd_secrets_list",
    "cmd_secrets_revoke",
    "cmd_secrets_rm",
    "cmd_secrets_rotate_key",
    "cmd_secrets_set",
    "register",
]


def register(verbs: Any) -> None:
    secrets = verbs.add_parser("secrets", help="manage secrets (values are never printed)")
    actions = secrets.add_subparsers(dest="action", required=True)
    set_ = actions.add_parser("set", help="set a secret from stdin or a file, never from argv")
    set_.add_argument("name", metavar="NAME")
    set_.add_argument(
        "--from-file",
        type=Path,
        metavar="FILE",
        help="the value, byte for byte (from stdin, one trailing newline is dropped)",
    )
    set_.add_argument("--oauth", action="store_true", help="the value is an OAuth credential")
    set_.set_defaults(handler=cmd_secrets_set)
    listing = actions.add_parser("list", help="names, kinds, users and rotation; never values")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_secrets_list)
    remove = actions.add_parser("rm", help="delete a secret")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=cmd_secrets_rm)
    revoke = actions.add_parser("revoke", help="stop a secret (an OAuth one at its provider too)")
    revoke.add_argument("name", metavar="NAME")
    revoke.add_argument("--local-only", action="store_true", help="do not call the provider")
    revoke.set_defaults(handler=cmd_secrets_revoke)
    rotate = actions.add_parser("rotate-key", help="re-encrypt every secret under a new key")
    rotate.add_argument(
        "--new-key-stdin",
        action="store_true",
        help="read the new key (base64) from stdin; needed when the key is not a key file",
    )
    rotate.set_defaults(handler=cmd_secrets_rotate_key)
    for parser in (set_, listing, remove, revoke, rotate):
        add_state_flag(parser)
        parser.add_argument(
            "--key-command", metavar="CMD", help="a command that prints the key (a KMS client)"
        )


def _secret_store(args: argparse.Namespace, state: DaemonConfig) -> SecretStore:
    command = shlex.split(args.key_command) if args.key_command else None
    return SecretStore(state.secrets_db, key_source(state.secrets_key, command=command))


def _catalog(args: argparse.Namespace) -> Catalog:
    return Catalog(Path(args.catalog) if args.catalog else paths.catalog_dir())


def _read_value(args: argparse.Namespace) -> bytes:
    if args.from_file is not None:
        try:
            return Path(args.from_file).read_bytes()
        except OSError as exc:
            raise BadRequest(f"--from-file: cannot read {args.from_file}: {exc}") from exc
    if sys.stdin.isatty():
        return getpass.getpass(f"value of {args.name}: ").encode()
    value = sys.stdin.buffer.read()
    # `echo value |` and here-strings add a newline that is not part of the secret.
    return value[:-1] if value.endswith(b"\n") else value


def cmd_secrets_set(args: argparse.Namespace) -> int:
    state = load_state(args)
    value = _read_value(args)
    kind = Kind.OAUTH if args.oauth else Kind.VALUE
    store = _secret_store(args, state)
    try:
        if kind is Kind.OAUTH:
            OAuthBroker(store).connect(args.name, parse_credential(value))
        else:
            store.set(args.name, value)
    finally:
        store.close()
    record(state, events.SECRET_SET, name=args.name, kind=kind.value)
    print(f"set {args.name}")
    return 0


def cmd_secrets_list(args: argparse.Namespace) -> int:
    state = load_state(args)
    catalog = _catalog(args)
    store = _secret_store(args, state)
    users = secret_users(catalog)
    try:
        infos = store.names(users)
    finally:
        store.close()
    unset = sorted(set(users) - {info.name for info in infos})
    rows: list[dict[str, Any]] = [
        {
            "name": info.name,
            "kind": info.kind.value,
            "used_by": list(info.used_by),
            "created": _when(info.created_ms),
            "last_rotation": _when(info.rotated_ms),
            "state": "revoked" if info.revoked_ms is not None else "active",
        }
        for info in infos
    ] + [
        {
            "name": name,
            "kind": "",
            "used_by": list(users[name]),
            "created": "",
            "last_rotation": "",
            "state": "not set",
        }
        for name in unset
    ]
    if args.json:
        print(json.dumps(rows))
        return 0
    header = ("NAME", "KIND", "USED BY", "LAST ROTATION", "STATE")
    cells = [
        (r["name"], r["kind"], ", ".join(r["used_by"]) or "-", r["last_rotation"], r["state"])
        for r in rows
    ]
    print("\n".join(text_table(header, cells)))
    return 0


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%MZ")


def cmd_secrets_rm(args: argparse.Namespace) -> int:
    state = load_state(args)
    store = _secret_store(args, state)
    try:
        store.remove(args.name)
    finally:
        store.close()
    record(state, events.SECRET_REMOVED, name=args.name)
    print(f"removed {args.name}")
    return 0


def cmd_secrets_revoke(args: argparse.Namespace) -> int:
    state = load_state(args)
    store = _secret_store(args, state)
    try:
        if store.kind(args.name) is Kind.OAUTH:
            try:
                OAuthBroker(store).revoke(args.name, remote=not args.local_only)
            except UpstreamError:
                # Revoked here all the same; only the provider's part failed.
                record(state, events.SECRET_REVOKED, name=args.name, provider="failed")
                raise
        else:
            store.revoke(args.name)
    finally:
        store.close()
    record(state, events.SECRET_REVOKED, name=args.name)
    print(f"revoked {args.name}")
    return 0


def cmd_secrets_rotate_key(args: argparse.Namespace) -> int:
    state = load_state(args)
    new_key = _read_new_key() if args.new_key_stdin else None
    store = _secret_store(args, state)
    try:
        key = store.rotate_key(new_key)
        count = len(store.names())
    finally:
        store.close()
    record(state, events.SECRET_KEY_ROTATED, key_id=key.id, secrets=count)
    print(f"re-encrypted {count} secrets under key {key.id}")
    if new_key is not None:
        print("put the new key where the old one came from before the daemon restarts")
    return 0


def _read_new_key() -> bytes:
    text = sys.stdin.buffer.read().strip()
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise BadRequest("--new-key-stdin: not a base64-encoded key") from exc
