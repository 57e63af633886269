"""Verbs for identity and access over the API: ``token ...``; and ``certs`` for TLS tests."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime.auth.certs import make_test_pki
from runtime.cli.connect import call, target_flags
from runtime.cli.flags import DURATION_HELP, duration_flag
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util.table import text_table

__all__ = ["cmd_certs", "cmd_token", "register"]


def register(verbs: Any) -> None:
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
    print("\n".join(_next_steps(files, hosts[0], tuple(args.client))))
    return 0


def _next_steps(files: dict[str, Path], host: str, clients: tuple[str, ...]) -> list[str]:
    """Where each file goes: the daemon's configuration, then each client's saved target."""
    path = {name: json.dumps(str(file.absolute())) for name, file in files.items()}
    lines = [
        "",
        "next, in the daemon's configuration file (check it with: skillrt config check FILE):",
        "  [server]",
        '  tcp = "0.0.0.0:7443"          # where to listen',
        "  [tls]",
        f"  cert = {path['server.pem']}",
        f"  key = {path['server.key']}",
    ]
    if clients:
        lines += [f"  client_ca = {path['ca']}", "  [tls.client_roles]          # name = role"]
        lines += [f'  {json.dumps(name)} = "agent"' for name in clients]
    lines.append(f"then on each client ({host} must be a name in server.pem):")
    ca = f"--tls {host}:7443 --ca {path['ca']}"
    for name in clients:
        mtls = f"--cert {path[name + '.pem']} --key {path[name + '.key']}"
        lines.append(f"  skillrt target add {name} {ca} {mtls} --use")
    if not clients:
        lines.append(f"  skillrt target add skillrt {ca} --token-file FILE --use")
    return lines
