"""Verbs for identity and access: ``init``, ``token ...`` and ``certs``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime.api import config as daemon_config
from runtime.audit import events
from runtime.auth.bootstrap import create_owner_if_none
from runtime.auth.certs import make_test_pki
from runtime.auth.tokens import TokenStore, load_server_key
from runtime.cli.author import DURATION_HELP, duration_flag
from runtime.cli.daemon import call, target_flags
from runtime.cli.state_dir import record
from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.state.schema import open_main
from runtime.util.clock import SYSTEM_CLOCK
from runtime.util.table import text_table

__all__ = ["cmd_certs", "cmd_init", "cmd_token", "register"]


def register(verbs: Any) -> None:
    init = verbs.add_parser("init", help="create the owner token of a new state directory")
    init.add_argument("--state-dir", type=Path, metavar="DIR")
    init.add_argument(
        "--config", type=Path, metavar="FILE", help="the daemon's configuration (its audit keys)"
    )
    init.set_defaults(handler=cmd_init)

    token = verbs.add_parser("token", help="manage bearer tokens (owner only)")
    actions = token.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new token; its secret is printed once")
    create.add_argument(
        "--role", required=True, choices=["owner", "admin", "approver", "agent", "viewer"]
    )
    create.add_argument("--name", required=True)
    create.add_argument(
        "--ttl",
        type=duration_flag("--ttl"),
        metavar="DUR",
        help=f"expires after this long, {DURATION_HELP} (default: never)",
    )
    create.add_argument(
        "--json", action="store_true", help="print id, name, role and the token as one object"
    )
    listing = actions.add_parser("list", help="every token's metadata, never a secret")
    listing.add_argument("--json", action="store_true")
    revoke = actions.add_parser("revoke", help="stop a token at once")
    revoke.add_argument("id")
    rotate = actions.add_parser("rotate", help="a new secret; the old one works for the overlap")
    rotate.add_argument("id")
    rotate.add_argument(
        "--overlap",
        type=duration_flag("--overlap"),
        metavar="DUR",
        help=f"how long the old secret keeps working, {DURATION_HELP} (default: [auth] "
        "token_overlap)",
    )
    for parser in (create, listing, revoke, rotate):
        target_flags(parser)
        parser.set_defaults(handler=cmd_token)

    certs = verbs.add_parser("certs", help="make a test CA with server and client certificates")
    certs.add_argument("--out", type=Path, required=True, metavar="DIR")
    certs.add_argument("--client", action="append", default=[], metavar="NAME")
    certs.add_argument("--host", action="append", metavar="NAME_OR_IP", help="server names")
    certs.set_defaults(handler=cmd_certs)


def cmd_init(args: argparse.Namespace) -> int:
    cfg = daemon_config.load(args.config, state_dir=args.state_dir)
    cfg.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open_main(cfg.database) as db:
        tokens = TokenStore(db, load_server_key(cfg.server_key))
        owner = create_owner_if_none(
            tokens,
            SYSTEM_CLOCK.now_ms(),
            record=lambda change, fields: record(cfg, events.TOKEN_CHANGES[change], **fields),
        )
    if owner is None:
        raise BadRequest(f"{cfg.state_dir}: already initialised (tokens exist)")
    print(owner)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    if args.action == "create":
        ttl = (args.ttl or 0) // 1000
        created: pb.CreatedToken = call(
            args, lambda c: c.create_token(args.name, args.role, ttl_seconds=ttl)
        )
        if args.json:
            print(json.dumps({**_info_dict(created.info), "token": created.token}))
        else:
            _show_secret(created, "created")
        return 0
    if args.action == "list":
        infos: list[pb.TokenInfo] = call(args, lambda c: c.list_tokens())
        if args.json:
            print(json.dumps([_info_dict(i) for i in infos]))
        else:
            rows = [(i.id, i.role, i.name, _state(i), _when(i.expires_at_ms)) for i in infos]
            print("\n".join(text_table(("ID", "ROLE", "NAME", "STATE", "EXPIRES"), rows)))
        return 0
    if args.action == "revoke":
        revoked: pb.TokenInfo = call(args, lambda c: c.revoke_token(args.id))
        print(f"revoked {revoked.id} ({revoked.name})")
        return 0
    overlap = (args.overlap or 0) // 1000
    rotated: pb.CreatedToken = call(
        args, lambda c: c.rotate_token(args.id, overlap_seconds=overlap)
    )
    _show_secret(rotated, f"rotated {args.id} into")
    return 0


def _show_secret(created: pb.CreatedToken, done: str) -> None:
    """The token alone on stdout, so that ``> agent.token`` keeps it and nothing else; what it
    is on stderr, for the person who made it."""
    info = created.info
    print(
        f"{done} token {info.id}: role {info.role}, name {info.name}, expires "
        f"{_when(info.expires_at_ms)}; its secret is on stdout, shown this once",
        file=sys.stderr,
    )
    print(created.token)


def _state(info: pb.TokenInfo) -> str:
    if info.revoked_at_ms:
        return "revoked"
    if info.replaced_by:
        return f"rotated ({info.replaced_by})"
    if info.expires_at_ms and info.expires_at_ms <= time.time() * 1000:
        return "expired"
    return "active"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC") if ms else "never"


def _info_dict(info: pb.TokenInfo) -> dict[str, object]:
    return {
        "id": info.id,
        "name": info.name,
        "role": info.role,
        "created_at_ms": info.created_at_ms,
        "expires_at_ms": info.expires_at_ms or None,
        "revoked_at_ms": info.revoked_at_ms or None,
        "replaced_by": info.replaced_by or None,
    }


def cmd_certs(args: argparse.Namespace) -> int:
    hosts = tuple(args.host) if args.host else ("localhost", "127.0.0.1", "::1")
    files = make_test_pki(args.out, hosts=hosts, clients=tuple(args.client))
    for name, path in files.items():
        print(f"{name:<16} {path}")
    return 0
