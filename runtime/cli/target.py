"""``skillrt target list|use|add`` (the saved targets of client.toml) and ``skillrt whoami``.

The file is edited as text, so that the operator's comments and layout survive; every edit is
parsed whole before it is written, and written atomically, readable by its owner only.
"""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from pathlib import Path
from typing import Any

from runtime.auth.bootstrap import write_secret_file
from runtime.cli.client_config import (
    TARGET_NAME,
    ClientConfig,
    Target,
    load_client_config,
    parse_client_config,
)
from runtime.cli.connect import resolve, run_on, target_flags
from runtime.errors import BadRequest, ConfigError
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util.tomlfields import Table

__all__ = ["cmd_target", "cmd_whoami", "register"]

_CURRENT = re.compile(r"^\s*current\s*=")


def register(verbs: Any) -> None:
    target = verbs.add_parser(
        "target",
        help="saved daemons to call by name (client.toml)",
        description="Targets live in $SKILLRT_CLIENT_CONFIG, else "
        "$XDG_CONFIG_HOME/skillrt/client.toml (~/.config/skillrt/client.toml).",
    )
    actions = target.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the saved targets; * marks the current one")
    listing.add_argument("--json", action="store_true")
    use = actions.add_parser("use", help="make NAME the target used when none is named")
    use.add_argument("name")
    add = actions.add_parser("add", help="save a target (never a token: name its file)")
    add.add_argument("name")
    where = add.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", type=Path, metavar="PATH", help="the daemon's Unix socket")
    where.add_argument("--tls", metavar="HOST:PORT", help="the daemon's TCP address (TLS 1.3)")
    add.add_argument("--ca", type=Path, metavar="PEM", help="CA of the daemon's certificate")
    add.add_argument("--cert", type=Path, metavar="PEM", help="client certificate (mTLS)")
    add.add_argument("--key", type=Path, metavar="PEM", help="client key (mTLS)")
    add.add_argument("--token-file", type=Path, metavar="FILE", help="file holding the token")
    add.add_argument("--use", action="store_true", help="and make it the current target")
    for parser in (listing, use, add):
        parser.set_defaults(handler=cmd_target)

    whoami = verbs.add_parser("whoami", help="who the daemon takes this caller to be")
    whoami.add_argument("--json", action="store_true")
    target_flags(whoami)
    whoami.set_defaults(handler=cmd_whoami)


def cmd_target(args: argparse.Namespace) -> int:
    config = load_client_config()
    if args.action == "list":
        return _list(config, as_json=args.json)
    if args.action == "use":
        config.target(args.name)  # one that does not exist is refused, naming the known ones
        _write(config.file, _with_current(_text(config.file), args.name))
        print(f"current target: {args.name}")
        return 0
    if not TARGET_NAME.match(args.name):
        raise BadRequest(f"name: {args.name!r} must match {TARGET_NAME.pattern}")
    if args.name in config.targets:
        raise BadRequest(f"name: target {args.name!r} is already in {config.file}")
    text = _text(config.file)
    text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + _table(args)
    _write(config.file, _with_current(text, args.name) if args.use else text)
    print(f"target {args.name} saved in {config.file}")
    return 0


def _list(config: ClientConfig, *, as_json: bool) -> int:
    if as_json:
        rows = [_target_dict(t, t.name == config.current) for t in config.targets.values()]
        print(json.dumps(rows))
        return 0
    if not config.targets:
        print(f"{config.file}: no saved targets (skillrt target add NAME --socket PATH ...)")
    for target in config.targets.values():
        mark = "*" if target.name == config.current else " "
        print(f"{mark} {target.name:<16} {target.address:<40} {_credential(target)}")
    return 0


def _credential(target: Target) -> str:
    if target.token_file is not None:
        return f"token_file {target.token_file}"
    if target.cert is not None:
        return f"certificate {target.cert}"
    return "no credential (give one with each call)"


def _target_dict(target: Target, current: bool) -> dict[str, Any]:
    files = {"ca": target.ca, "cert": target.cert, "key": target.key}
    return {
        "name": target.name,
        "current": current,
        "address": target.address,
        **{key: str(path) if path else None for key, path in files.items()},
        "token_file": str(target.token_file) if target.token_file else None,
    }


def _table(args: argparse.Namespace) -> str:
    """The new target's table; paths made absolute, since the file's are relative to itself."""
    values: dict[str, str] = {}
    if args.socket is not None:
        values["socket"] = str(args.socket.expanduser().absolute())
    else:
        values["tls"] = args.tls
    for key in ("ca", "cert", "key", "token_file"):
        path: Path | None = getattr(args, key)
        if path is not None:
            values[key] = str(path.expanduser().absolute())
    # A JSON string is a TOML basic string: the same escapes, quotes and backslashes.
    lines = [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join([f"[targets.{args.name}]", *lines]) + "\n"


def _with_current(text: str, name: str) -> str:
    """``text`` with its top-level ``current`` set to ``name``."""
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.lstrip().startswith("["):
            break  # past the top level: what follows belongs to tables
        if _CURRENT.match(line):
            lines[index] = f"current = {json.dumps(name)}\n"
            return "".join(lines)
    return f"current = {json.dumps(name)}\n" + text


def _text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from exc


def _write(file: Path, text: str) -> None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: the edit would not be valid TOML: {exc}") from exc
    parse_client_config(Table(str(file), "", data), file)  # refused whole, naming the key
    write_secret_file(file, text.rstrip("\n"))


def cmd_whoami(args: argparse.Namespace) -> int:
    connection = resolve(args)
    who: pb.Principal = run_on(connection, lambda c: c.whoami())
    if args.json:
        fields = {"name": who.name, "role": who.role, "authenticated_by": who.authenticated_by}
        print(json.dumps({**fields, "target": connection.address}))
    else:
        print(f"{who.name} (role {who.role}, by {who.authenticated_by}) at {connection.address}")
    return 0
