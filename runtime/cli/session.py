"""``skillrt session``: try an agent session by hand.

    skillrt session create [--profile NAME] [--skill NAME]... [--workspace-size SIZE]
    skillrt session exec SESSION [--cwd DIR] [--env NAME=VALUE]... -- COMMAND [ARG]...
    skillrt session cp LOCAL SESSION:PATH     (or SESSION:PATH LOCAL)
    skillrt session rm SESSION:PATH [-r]
    skillrt session ls [SESSION[:PATH]]
    skillrt session destroy SESSION

``exec`` passes its own standard input to the command when it is not a terminal, prints the
command's output as it comes, and exits with the command's exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict

from runtime.cli.connect import call, target_flags
from runtime.cli.flags import limit_flags, overrides
from runtime.cli.untrusted import printable
from runtime.errors import BadRequest
from runtime.proto.skillrt.v1 import sessions_pb2 as spb
from runtime.util.units import parse_duration_ms, parse_size

__all__ = ["register"]

_CHUNK = 64 * 1024


def register(verbs: Any) -> None:
    session = verbs.add_parser("session", help="agent sessions: a workspace, commands in it")
    actions = session.add_subparsers(dest="action", required=True)

    create = actions.add_parser("create", help="a new session; prints its id")
    create.add_argument("--profile", default="", help="session profile (default: workspace)")
    create.add_argument(
        "--skill", action="append", default=[], metavar="NAME", help="mount an instruction skill"
    )
    create.add_argument("--workspace-size", metavar="SIZE", help="e.g. 256MiB")
    create.add_argument("--idle-timeout", metavar="DUR", help="e.g. 30m")
    create.add_argument("--json", action="store_true")
    limit_flags(create)
    create.set_defaults(handler=cmd_create)

    run = actions.add_parser("exec", help="run one command in a fresh sandbox of the session")
    run.add_argument("session")
    run.add_argument("--cwd", default="", help="working directory (default: /workspace)")
    run.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    run.add_argument("--wait", action="store_true", help="wait for approval when needed")
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARG]...")
    limit_flags(run)
    run.set_defaults(handler=cmd_exec)

    copy = actions.add_parser("cp", help="copy a file into or out of a session's workspace")
    copy.add_argument("source", metavar="LOCAL|SESSION:PATH")
    copy.add_argument("destination", metavar="SESSION:PATH|LOCAL")
    copy.set_defaults(handler=cmd_cp)

    remove = actions.add_parser("rm", help="remove a file or folder of a session's workspace")
    remove.add_argument("where", metavar="SESSION:PATH")
    remove.add_argument("-r", "--recursive", action="store_true")
    remove.add_argument("-f", "--force", action="store_true", help="no error if it is missing")
    remove.set_defaults(handler=cmd_rm)

    listing = actions.add_parser("ls", help="sessions, or a folder of one session's workspace")
    listing.add_argument("where", nargs="?", metavar="SESSION[:PATH]")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_ls)

    destroy = actions.add_parser("destroy", help="end a session and remove its workspace")
    destroy.add_argument("session")
    destroy.set_defaults(handler=cmd_destroy)

    for parser in (create, run, copy, remove, listing, destroy):
        target_flags(parser)


def cmd_create(args: argparse.Namespace) -> int:
    size = _parsed(parse_size, args.workspace_size, "--workspace-size")
    idle = _parsed(parse_duration_ms, args.idle_timeout, "--idle-timeout")
    session = call(
        args,
        lambda c: c.create_session(
            profile=args.profile,
            skills=args.skill,
            workspace_bytes=size,
            idle_timeout_ms=idle,
            limits=overrides(args),
        ),
    )
    print(json.dumps(_session_dict(session)) if args.json else session.id)
    return 0


def cmd_exec(args: argparse.Namespace) -> int:
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise BadRequest("COMMAND: give the command after --")
    env = dict(_assignment(item) for item in args.env)
    stdin = b"" if sys.stdin.isatty() else _chunks(sys.stdin.buffer)

    def show(stream: str, data: bytes) -> None:
        out = sys.stderr.buffer if stream == "stderr" else sys.stdout.buffer
        out.write(data)
        out.flush()

    outcome = call(
        args,
        lambda c: c.exec(
            args.session,
            argv,
            stdin=stdin,
            cwd=args.cwd,
            env=env,
            limits=overrides(args),
            wait_for_approval=args.wait,
            on_output=show,
        ),
    )
    if outcome.approval_id:
        print(
            f"skillrt: waiting for approval {outcome.approval_id}; run again with --wait, "
            "or once approved",
            file=sys.stderr,
        )
    elif outcome.result.violations:
        for violation in outcome.result.violations:
            print(f"skillrt: {violation}", file=sys.stderr)
    return int(outcome.exit_status)


def cmd_cp(args: argparse.Namespace) -> int:
    source, destination = _remote(args.source), _remote(args.destination)
    if (source is None) == (destination is None):
        raise BadRequest("cp: exactly one of the two paths must be SESSION:PATH")
    if destination is not None:
        try:
            data = Path(args.source).read_bytes()
        except OSError as exc:
            raise BadRequest(f"{args.source}: cannot read: {exc.strerror}") from exc
        call(args, lambda c: c.write_file(destination[0], destination[1], data))
        return 0
    assert source is not None
    data = call(args, lambda c: c.read_file(source[0], source[1]))
    if args.destination == "-":
        sys.stdout.buffer.write(data)
    else:
        Path(args.destination).write_bytes(data)
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    target = _remote(args.where)
    if target is None:
        raise BadRequest("rm: give SESSION:PATH")
    call(
        args,
        lambda c: c.remove(target[0], target[1], recursive=args.recursive, missing_ok=args.force),
    )
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    if not args.where:
        sessions = call(args, lambda c: c.list_sessions())
        if args.json:
            print(json.dumps([_session_dict(s) for s in sessions]))
            return 0
        for s in sessions:
            used = f"{s.workspace_used_bytes}/{s.workspace_bytes}"
            print(f"{s.id}  {s.owner:<16} {s.profile:<10} running={s.running} used={used}")
        return 0
    session_id, _, path = args.where.partition(":")
    entries = call(args, lambda c: c.list_dir(session_id, path))
    if args.json:
        print(json.dumps([MessageToDict(e, preserving_proto_field_name=True) for e in entries]))
        return 0
    for entry in entries:
        mark = "/" if entry.type == spb.FILE_TYPE_DIRECTORY else ""
        # A name in a workspace is whatever the session's commands chose: never raw on a tty.
        print(f"{entry.mode:04o} {entry.size:>10} {printable(entry.path)}{mark}")
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    call(args, lambda c: c.destroy_session(args.session))
    print(f"destroyed {args.session}")
    return 0


def _session_dict(session: spb.Session) -> dict[str, Any]:
    return MessageToDict(session, preserving_proto_field_name=True)


def _remote(text: str) -> tuple[str, str] | None:
    """SESSION:PATH as (session, path); a local path (no session id before a colon) is None."""
    head, sep, tail = text.partition(":")
    return (head, tail) if sep and head.startswith("ses_") else None


def _assignment(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise BadRequest(f"--env: {item!r} is not NAME=VALUE")
    return name, value


def _parsed(parse: Any, text: str | None, flag: str) -> int:
    if text is None:
        return 0
    try:
        return int(parse(text))
    except ValueError as exc:
        raise BadRequest(f"{flag}: {exc}") from exc


def _chunks(stream: Any) -> Iterator[bytes]:
    while chunk := os.read(stream.fileno(), _CHUNK):
        yield chunk
