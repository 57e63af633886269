"""Operator verbs on the daemon's state directory: ``secrets``, ``audit`` and ``data``.

They work on the files directly (the daemon may be running: the audit log and both databases
are safe to share between processes). Secret values are read from stdin or a file, never from
the command line, and never printed. Every change is itself recorded in the audit log.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import pwd
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime.api import config as daemon_config
from runtime.audit import log as audit
from runtime.check.profile_check import text_table
from runtime.cli.author import duration_flag
from runtime.core.catalog import Catalog, secret_users
from runtime.core.store import Store
from runtime.errors import BadRequest, IntegrityError, NoSuchEntity, UpstreamError
from runtime.secrets.keys import key_source
from runtime.secrets.oauth import OAuthBroker, parse_credential
from runtime.secrets.store import Kind, SecretStore
from runtime.util import paths

_DEFAULT_TAIL = 20


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
        _state_flag(parser)
        parser.add_argument(
            "--key-command", metavar="CMD", help="a command that prints the key (a KMS client)"
        )

    log = verbs.add_parser("audit", help="read, verify, export and prune the audit log")
    actions = log.add_subparsers(dest="action", required=True)
    tail = actions.add_parser("tail", help="the last entries; --follow for new ones")
    tail.add_argument("-n", "--lines", type=int, default=_DEFAULT_TAIL, metavar="N")
    tail.add_argument("--follow", action="store_true")
    _query_flags(tail)
    tail.add_argument("--json", action="store_true", help="print entries as JSON lines")
    tail.set_defaults(handler=cmd_audit_tail)
    check = actions.add_parser("verify", help="check the hash chain; name the first broken line")
    check.set_defaults(handler=cmd_audit_verify)
    export = actions.add_parser("export", help="print entries as JSON lines")
    _query_flags(export)
    export.set_defaults(handler=cmd_audit_export)
    prune = actions.add_parser("prune", help="drop old entries, keeping the rest verifiable")
    prune.add_argument(
        "--older-than",
        type=duration_flag("--older-than"),
        default=audit.DEFAULT_RETENTION_MS,
        metavar="DUR",
        help="default 30d",
    )
    prune.set_defaults(handler=cmd_audit_prune)
    for parser in (tail, check, export, prune):
        _state_flag(parser)

    data = verbs.add_parser("data", help="export or delete what the daemon keeps")
    actions = data.add_subparsers(dest="action", required=True)
    dump = actions.add_parser("export", help="invocations, approvals and audit log as JSON")
    dump.add_argument("--since", type=_date_flag("--since"), metavar="DATE")
    dump.set_defaults(handler=cmd_data_export)
    delete = actions.add_parser("delete", help="delete finished invocations")
    which = delete.add_mutually_exclusive_group(required=True)
    which.add_argument("--before", type=_date_flag("--before"), metavar="DATE")
    which.add_argument("--principal", metavar="NAME")
    delete.set_defaults(handler=cmd_data_delete)
    for parser in (dump, delete):
        _state_flag(parser)


def _state_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=Path, metavar="DIR", help="the daemon's state")


def _query_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="EVENT",
        help="only this event (token.* for a family); repeatable",
    )
    parser.add_argument("--actor", metavar="NAME")
    parser.add_argument("--since", type=_date_flag("--since"), metavar="DATE")
    parser.add_argument("--until", type=_date_flag("--until"), metavar="DATE")


def _date_flag(name: str) -> Any:
    def convert(text: str) -> datetime:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(
                f"expected a date like 2025-01-31 or 2025-01-31T12:00Z, got {text!r}"
            ) from exc
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    convert.__name__ = name
    return convert


_State = daemon_config.DaemonConfig


def _state(args: argparse.Namespace) -> _State:
    return daemon_config.load(None, state_dir=args.state_dir)


def _actor() -> str:
    return f"cli:{pwd.getpwuid(os.getuid()).pw_name}"


def _record(state: _State, event: str, **fields: Any) -> None:
    audit.AuditLog(state.audit_log).append(event, actor=_actor(), **fields)


def _secret_store(args: argparse.Namespace, state: _State) -> SecretStore:
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
    state = _state(args)
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
    _record(state, audit.SECRET_SET, name=args.name, kind=kind.value)
    print(f"set {args.name}")
    return 0


def cmd_secrets_list(args: argparse.Namespace) -> int:
    state = _state(args)
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
    state = _state(args)
    store = _secret_store(args, state)
    try:
        store.remove(args.name)
    finally:
        store.close()
    _record(state, audit.SECRET_REMOVED, name=args.name)
    print(f"removed {args.name}")
    return 0


def cmd_secrets_revoke(args: argparse.Namespace) -> int:
    state = _state(args)
    store = _secret_store(args, state)
    try:
        if store.kind(args.name) is Kind.OAUTH:
            try:
                OAuthBroker(store).revoke(args.name, remote=not args.local_only)
            except UpstreamError:
                # Revoked here all the same; only the provider's part failed.
                _record(state, audit.SECRET_REVOKED, name=args.name, provider="failed")
                raise
        else:
            store.revoke(args.name)
    finally:
        store.close()
    _record(state, audit.SECRET_REVOKED, name=args.name)
    print(f"revoked {args.name}")
    return 0


def cmd_secrets_rotate_key(args: argparse.Namespace) -> int:
    state = _state(args)
    new_key = _read_new_key() if args.new_key_stdin else None
    store = _secret_store(args, state)
    try:
        key = store.rotate_key(new_key)
        count = len(store.names())
    finally:
        store.close()
    _record(state, audit.SECRET_KEY_ROTATED, key_id=key.id, secrets=count)
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


def _query(args: argparse.Namespace) -> audit.Query:
    return audit.Query(
        events=tuple(args.filter), actor=args.actor, since=args.since, until=args.until
    )


def cmd_audit_tail(args: argparse.Namespace) -> int:
    if args.lines < 0:
        raise BadRequest("--lines: must not be negative")
    state = _state(args)
    for entry in audit.tail(state.audit_log, args.lines, _query(args), follow=args.follow):
        print(entry.line() if args.json else _entry_text(entry), flush=True)
    return 0


def _entry_text(entry: audit.Entry) -> str:
    details = " ".join(
        f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in entry.fields.items()
    )
    return f"{entry.ts}  #{entry.seq:<6} {entry.event:<22} {entry.actor:<20} {details}".rstrip()


def cmd_audit_verify(args: argparse.Namespace) -> int:
    state = _state(args)
    broken = audit.verify(state.audit_log)
    if broken is not None:
        raise IntegrityError(f"{state.audit_log}: {broken}")
    print(f"{state.audit_log}: chain intact")
    return 0


def cmd_audit_export(args: argparse.Namespace) -> int:
    state = _state(args)
    count = 0
    for entry in audit.entries(state.audit_log, _query(args)):
        print(entry.line())
        count += 1
    _record(state, audit.DATA_EXPORTED, what="audit", entries=count)
    return 0


def cmd_audit_prune(args: argparse.Namespace) -> int:
    state = _state(args)
    report = audit.prune(state.audit_log, older_than_ms=args.older_than, actor=_actor())
    if report.checkpoint is None:
        print(f"nothing to prune; {report.kept} entries kept")
    else:
        print(f"pruned {report.pruned} entries, kept {report.kept}")
    return 0


def cmd_data_export(args: argparse.Namespace) -> int:
    state = _state(args)
    since_ms = int(args.since.timestamp() * 1000) if args.since else None
    invocations: list[dict[str, Any]] = []
    approvals: list[dict[str, Any]] | None = None
    if state.database.exists():
        store = Store(state.database)
        try:
            invocations = list(store.export_invocations(since_ms=since_ms))
            approval_rows = store.export_table("approvals")
            approvals = list(approval_rows) if approval_rows is not None else None
        finally:
            store.close()
    entries = (
        [e.to_dict() for e in audit.entries(state.audit_log, audit.Query(since=args.since))]
        if state.audit_log.exists()
        else []
    )
    document = {
        "exported_at": audit.format_ts(datetime.now(UTC).timestamp()),
        "since": args.since.isoformat() if args.since else None,
        "invocations": invocations,
        "approvals": approvals,
        "audit": entries,
    }
    for chunk in json.JSONEncoder(default=_json_default).iterencode(document):
        sys.stdout.write(chunk)
    sys.stdout.write("\n")
    _record(
        state,
        audit.DATA_EXPORTED,
        what="data",
        invocations=len(invocations),
        approvals=len(approvals or []),
        audit_entries=len(entries),
    )
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot export a {type(value).__name__}")


def cmd_data_delete(args: argparse.Namespace) -> int:
    state = _state(args)
    if not state.database.exists():
        raise NoSuchEntity(f"{state.database}: no invocation store")
    before_ms = int(args.before.timestamp() * 1000) if args.before else None
    store = Store(state.database)
    try:
        deleted = store.delete_finished(before_ms=before_ms, principal=args.principal)
    finally:
        store.close()
    criteria = {"before": args.before.isoformat()} if args.before else {"principal": args.principal}
    _record(state, audit.DATA_DELETED, invocations=deleted, **criteria)
    print(f"deleted {deleted} finished invocations")
    return 0
