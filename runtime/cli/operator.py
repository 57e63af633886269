"""``skillrt audit`` and ``skillrt data``: read, verify, adopt, export and prune the audit log;
export or delete what the daemon keeps.

They work on the files directly (the daemon may be running: the audit log and the database are
safe to share between processes). Every export and deletion is itself recorded in the audit log.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime.audit import anchor, events, query, retention
from runtime.audit.adopt import adopt
from runtime.audit.entry import Entry, format_ts
from runtime.audit.verify import Verdict, check
from runtime.cli.flags import DATE_HELP, DURATION_HELP, date_flag, duration_flag
from runtime.cli.state_dir import actor, add_state_flag, load_state, record
from runtime.core.store import Store
from runtime.errors import BadRequest, IntegrityError, NoSuchEntity
from runtime.state.schema import open_main

__all__ = [
    "cmd_audit_adopt",
    "cmd_audit_export",
    "cmd_audit_head",
    "cmd_audit_prune",
    "cmd_audit_public_key",
    "cmd_audit_tail",
    "cmd_audit_verify",
    "cmd_data_delete",
    "cmd_data_export",
    "register",
]

_DEFAULT_TAIL = 20
_FILES = (
    "It reads the state directory's files directly, not through the daemon: it needs the right "
    "to read them (root or the daemon's user), not a token."
)


def register(verbs: Any) -> None:
    log = verbs.add_parser(
        "audit", help="read, verify, export and prune the audit log", description=_FILES
    )
    actions = log.add_subparsers(dest="action", required=True)
    tail = actions.add_parser(
        "tail", help="the last entries; --follow for new ones", description=_FILES
    )
    tail.add_argument("-n", "--lines", type=int, default=_DEFAULT_TAIL, metavar="N")
    tail.add_argument("--follow", action="store_true")
    _query_flags(tail)
    tail.add_argument("--json", action="store_true", help="print entries as JSON lines")
    tail.set_defaults(handler=cmd_audit_tail)
    check = actions.add_parser("verify", help="check the hash chain; name the first broken line")
    check.add_argument(
        "--anchor", type=Path, metavar="FILE", help="fail unless the log holds this signed head"
    )
    check.add_argument(
        "--public-key",
        type=Path,
        metavar="FILE",
        help="check the anchor with this key (default: the head key beside the chain key)",
    )
    check.add_argument(
        "--unkeyed",
        action="store_true",
        help="check a log with no chain key by its plain hashes, which prove nothing "
        "against tampering",
    )
    check.set_defaults(handler=cmd_audit_verify)
    adopt = actions.add_parser(
        "adopt", help="key a log written before skillrt keyed its chain, once it verifies"
    )
    adopt.set_defaults(handler=cmd_audit_adopt)
    head = actions.add_parser("head", help="sign the log's head, to keep off this host")
    head.add_argument("--out", type=Path, metavar="FILE", help="write it here, not to stdout")
    head.set_defaults(handler=cmd_audit_head)
    public = actions.add_parser("public-key", help="the public key that checks anchors (PEM)")
    public.add_argument("--out", type=Path, metavar="FILE", help="write it here, not to stdout")
    public.set_defaults(handler=cmd_audit_public_key)
    export = actions.add_parser("export", help="print entries as JSON lines")
    _query_flags(export)
    export.set_defaults(handler=cmd_audit_export)
    prune = actions.add_parser("prune", help="drop old entries, keeping the rest verifiable")
    prune.add_argument(
        "--older-than",
        type=duration_flag("--older-than"),
        default=retention.DEFAULT_RETENTION_MS,
        metavar="DUR",
        help=f"entries older than this, {DURATION_HELP} (default 30d)",
    )
    prune.set_defaults(handler=cmd_audit_prune)
    for parser in (tail, check, adopt, head, public, export, prune):
        add_state_flag(parser)

    data = verbs.add_parser(
        "data", help="export or delete what the daemon keeps", description=_FILES
    )
    actions = data.add_subparsers(dest="action", required=True)
    dump = actions.add_parser(
        "export", help="invocations, approvals and audit log as JSON", description=_FILES
    )
    dump.add_argument("--since", type=date_flag("--since"), metavar="DATE", help=DATE_HELP)
    dump.set_defaults(handler=cmd_data_export)
    delete = actions.add_parser("delete", help="delete finished invocations")
    which = delete.add_mutually_exclusive_group(required=True)
    which.add_argument("--before", type=date_flag("--before"), metavar="DATE", help=DATE_HELP)
    which.add_argument("--principal", metavar="NAME")
    delete.set_defaults(handler=cmd_data_delete)
    for parser in (dump, delete):
        add_state_flag(parser)


def _query_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="EVENT",
        help="only this event (token.* for a family); repeatable",
    )
    parser.add_argument("--actor", metavar="NAME")
    parser.add_argument("--since", type=date_flag("--since"), metavar="DATE", help=DATE_HELP)
    parser.add_argument("--until", type=date_flag("--until"), metavar="DATE", help=DATE_HELP)


def _query(args: argparse.Namespace) -> query.Query:
    return query.Query(
        events=tuple(args.filter), actor=args.actor, since=args.since, until=args.until
    )


def cmd_audit_tail(args: argparse.Namespace) -> int:
    if args.lines < 0:
        raise BadRequest("--lines: must not be negative")
    state = load_state(args)
    for entry in query.tail(state.audit_log, args.lines, _query(args), follow=args.follow):
        print(entry.line() if args.json else _entry_text(entry), flush=True)
    return 0


def _entry_text(entry: Entry) -> str:
    details = " ".join(
        f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in entry.fields.items()
    )
    return f"{entry.ts}  #{entry.seq:<6} {entry.event:<22} {entry.actor:<20} {details}".rstrip()


def cmd_audit_verify(args: argparse.Namespace) -> int:
    state = load_state(args)
    anchored = None
    if args.anchor is not None:
        public = (
            anchor.load_public_key(args.public_key)
            if args.public_key is not None
            else anchor.head_public_key(state.audit_keys)
        )
        anchored = anchor.read_anchor(args.anchor, public)
    verdict = check(
        state.audit_log,
        keys=state.audit_keys,
        at_seq=anchored.seq if anchored else None,
        unkeyed=args.unkeyed,
    )
    if verdict.broken is not None:
        raise IntegrityError(f"{state.audit_log}: {verdict.broken}")
    holds = ""
    if anchored is not None:
        problem = anchor.mismatch(anchored, verdict)
        if problem is not None:
            raise IntegrityError(f"{state.audit_log}: {problem} (anchor {args.anchor})")
        holds = f"; holds the anchored seq {anchored.seq} of {anchored.anchored_at}"
    print(f"{state.audit_log}: chain intact ({_chain_text(verdict)}){holds}")
    return 0


def _chain_text(verdict: Verdict) -> str:
    first, last, key = verdict.first, verdict.last, verdict.key
    if first is None or last is None:
        return "empty"
    span = f"seqs {first.seq}-{last.seq}"
    if key is None:
        return (
            f"{span}, UNKEYED: no chain key, so these plain sha256 hashes prove nothing against "
            "tampering; `skillrt audit adopt` keys the log from here on"
        )
    if key.legacy_until < first.seq:
        return f"{span}, keyed"
    return (
        f"{span}; {first.seq}-{key.legacy_until} unkeyed, written before skillrt keyed its "
        f"chain; keyed from seq {key.legacy_until + 1}"
    )


def cmd_audit_adopt(args: argparse.Namespace) -> int:
    state = load_state(args)
    adoption = adopt(state.audit_log, actor=actor(), keys=state.audit_keys)
    print(
        f"{state.audit_log}: keyed with {adoption.key} from seq {adoption.entry.seq}; seqs up to "
        f"{adoption.legacy_until} stay unkeyed, taken on your word that skillrt wrote them"
    )
    return 0


def cmd_audit_head(args: argparse.Namespace) -> int:
    state = load_state(args)
    verdict = check(state.audit_log, keys=state.audit_keys)
    text = anchor.sign_head(verdict, log=state.audit_log, keys=state.audit_keys, now=time.time())
    if args.out is None:
        sys.stdout.write(text)
        return 0
    _write_out(args.out, text.encode())
    assert verdict.last is not None
    seq = verdict.last.seq
    print(f"{args.out}: the head of {state.audit_log}, seq {seq}; keep it off this host")
    return 0


def cmd_audit_public_key(args: argparse.Namespace) -> int:
    state = load_state(args)
    pem = anchor.public_pem(anchor.head_key(state.audit_keys).public_key())
    if args.out is None:
        sys.stdout.write(pem.decode())
    else:
        _write_out(args.out, pem)
    return 0


def _write_out(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise BadRequest(f"{path}: cannot write: {exc.strerror}") from exc


def cmd_audit_export(args: argparse.Namespace) -> int:
    state = load_state(args)
    count = 0
    for entry in query.entries(state.audit_log, _query(args)):
        print(entry.line())
        count += 1
    record(state, events.DATA_EXPORTED, what="audit", entries=count)
    return 0


def cmd_audit_prune(args: argparse.Namespace) -> int:
    state = load_state(args)
    report = retention.prune(
        state.audit_log, older_than_ms=args.older_than, actor=actor(), keys=state.audit_keys
    )
    if report.checkpoint is None:
        print(f"nothing to prune; {report.kept} entries kept")
    else:
        print(f"pruned {report.pruned} entries, kept {report.kept}")
    return 0


def cmd_data_export(args: argparse.Namespace) -> int:
    state = load_state(args)
    since_ms = int(args.since.timestamp() * 1000) if args.since else None
    invocations: list[dict[str, Any]] = []
    approvals: list[dict[str, Any]] | None = None
    if state.database.exists():
        with open_main(state.database) as db:
            store = Store(db)
            invocations = list(store.export_invocations(since_ms=since_ms))
            approval_rows = store.export_table("approvals")
            approvals = list(approval_rows) if approval_rows is not None else None
    entries = (
        [e.to_dict() for e in query.entries(state.audit_log, query.Query(since=args.since))]
        if state.audit_log.exists()
        else []
    )
    document = {
        "exported_at": format_ts(datetime.now(UTC).timestamp()),
        "since": args.since.isoformat() if args.since else None,
        "invocations": invocations,
        "approvals": approvals,
        "audit": entries,
    }
    for chunk in json.JSONEncoder(default=_json_default).iterencode(document):
        sys.stdout.write(chunk)
    sys.stdout.write("\n")
    record(
        state,
        events.DATA_EXPORTED,
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
    state = load_state(args)
    if not state.database.exists():
        raise NoSuchEntity(f"{state.database}: no invocation store")
    before_ms = int(args.before.timestamp() * 1000) if args.before else None
    with open_main(state.database) as db:
        deleted = Store(db).delete_finished(before_ms=before_ms, principal=args.principal)
    criteria = {"before": args.before.isoformat()} if args.before else {"principal": args.principal}
    record(state, events.DATA_DELETED, invocations=deleted, **criteria)
    print(f"deleted {deleted} finished invocations")
    return 0
