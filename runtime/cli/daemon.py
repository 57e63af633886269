"""Verbs around the daemon: ``serve`` it, and ``invoke`` and ``status`` through it."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from runtime.api.convert_results import result_proto_dict
from runtime.cli.connect import call, resolve, run_on, target_flags
from runtime.cli.flags import DURATION_HELP, duration_flag, limit_flags, overrides, read_arg
from runtime.cli.invoke_wait import GaveUp, gave_up, wait_for_result
from runtime.cli.results import exit_code, result_lines
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util.canonical import parse_input

__all__ = ["cmd_invoke", "cmd_serve", "cmd_status", "register"]


_INVOKE_EXAMPLES = """\
examples:
  skillrt invoke text-stats analyze --input '{"text": "Hello, sandbox."}'
  skillrt invoke python-exec run --input @program.json --wait --timeout 600
  skillrt invoke calc evaluate --input '{"expression": "2**10"}' --memory 64MiB --json

exit status: 0 when the call succeeded or waits for approval, 1 when it failed (or --wait gave
up while the approval is pending), 2 for bad input (malformed JSON, input the tool's schema
refuses)."""


def register(verbs: Any) -> None:
    serve = verbs.add_parser("serve", help="run the daemon")
    serve.add_argument("--config", type=Path, metavar="FILE", help="daemon configuration (TOML)")
    serve.add_argument("--socket", type=Path, dest="socket_path", metavar="PATH")
    serve.add_argument("--tcp", dest="tcp_address", metavar="HOST:PORT", help="also listen on TCP")
    serve.add_argument(
        "--insecure-tcp",
        dest="insecure_tcp",
        action="store_const",
        const=True,
        help="allow TCP without TLS, on loopback only (tokens cross in clear text)",
    )
    serve.add_argument("--state-dir", type=Path, dest="state_dir", metavar="DIR")
    serve.add_argument("--max-running", type=int, dest="max_running", metavar="N")
    serve.add_argument("--max-queued", type=int, dest="max_queued", metavar="N")
    serve.add_argument("--cgroup-root", dest="cgroup_root", metavar="NAME")
    serve.add_argument(
        "--shutdown-grace",
        dest="shutdown_grace_ms",
        type=duration_flag("--shutdown-grace"),
        metavar="DUR",
        help=f"how long running invocations may finish after SIGTERM, {DURATION_HELP}",
    )
    serve.set_defaults(handler=cmd_serve)

    invoke = verbs.add_parser(
        "invoke",
        help="invoke a skill's tool through the daemon",
        epilog=_INVOKE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    invoke.add_argument("skill")
    invoke.add_argument("tool")
    invoke.add_argument("--input", default="{}", metavar="JSON|@FILE")
    invoke.add_argument("--json", action="store_true", help="print one JSON result object")
    invoke.add_argument("--idempotency-key", metavar="KEY")
    invoke.add_argument(
        "--wait",
        action="store_true",
        help="when the tool needs a person's approval, wait for it and the result (the approval "
        "id is printed while waiting)",
    )
    invoke.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up after this many seconds, e.g. 30 (an approval waited for stays pending)",
    )
    target_flags(invoke)
    limit_flags(invoke)
    invoke.set_defaults(handler=cmd_invoke)

    status = verbs.add_parser("status", help="daemon health, or one invocation")
    status.add_argument("invocation", nargs="?", metavar="INVOCATION_ID")
    status.add_argument("--json", action="store_true")
    target_flags(status)
    status.set_defaults(handler=cmd_status)


def cmd_serve(args: argparse.Namespace) -> int:
    # Only serve needs the daemon's configuration and server; the other verbs here are quick
    # client calls that should not pay for importing them.
    from runtime.api import config as daemon_config
    from runtime.api.server import serve

    def load() -> daemon_config.DaemonConfig:
        return daemon_config.load(
            args.config,
            socket_path=args.socket_path,
            tcp_address=args.tcp_address,
            insecure_tcp=args.insecure_tcp,
            state_dir=args.state_dir,
            max_running=args.max_running,
            max_queued=args.max_queued,
            cgroup_root=args.cgroup_root,
            shutdown_grace_ms=args.shutdown_grace_ms,
            catalog_dirs=(Path(args.catalog),) if args.catalog else None,
            profiles_dir=Path(args.profiles) if args.profiles else None,
        )

    cfg = load()
    asyncio.run(serve(cfg, reload=load))
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    input_value = parse_input(read_arg(args.input, "--input"))
    limits = overrides(args)
    if args.wait:
        waited = call(args, lambda c: wait_for_result(c, args, input_value, limits))
        if isinstance(waited, GaveUp):
            return gave_up(waited, as_json=args.json)
        return _print_invocation(waited, as_json=args.json)
    invocation: pb.Invocation = call(
        args,
        lambda c: c.invoke(
            args.skill,
            args.tool,
            input_value,
            limits=limits,
            idempotency_key=args.idempotency_key,
            timeout=args.timeout,
        ),
    )
    return _print_invocation(invocation, as_json=args.json)


def _print_invocation(invocation: pb.Invocation, *, as_json: bool) -> int:
    result = result_proto_dict(invocation.result)
    if as_json:
        approval = {"approval_id": invocation.approval_id} if invocation.approval_id else {}
        print(json.dumps({"invocation_id": invocation.id, **approval, **result}))
    else:
        print(f"{invocation.id}  {invocation.skill} {invocation.skill_version} / {invocation.tool}")
        lines = result_lines(result)
        if invocation.approval_id and result["status"] == "pending_approval":
            lines.insert(1, f"approval: {invocation.approval_id} (an approver decides it)")
        print("\n".join(lines))
    return exit_code(str(result["status"]))


def cmd_status(args: argparse.Namespace) -> int:
    if args.invocation:
        invocation: pb.Invocation = call(args, lambda c: c.get_invocation(args.invocation))
        state = pb.InvocationState.Name(invocation.state).removeprefix("INVOCATION_STATE_").lower()
        data: dict[str, Any] = {
            "invocation_id": invocation.id,
            "skill": invocation.skill,
            "tool": invocation.tool,
            "state": state,
            **(
                {"result": result_proto_dict(invocation.result)}
                if invocation.HasField("result")
                else {}
            ),
        }
        print(json.dumps(data) if args.json else _status_text(data))
        # A call still queued, running or awaiting approval has not failed (yet).
        finished = state == "finished" and "result" in data
        return exit_code(str(data["result"]["status"])) if finished else 0
    connection = resolve(args, anonymous=True)  # health needs no credential
    health: str = run_on(connection, lambda c: c.health())
    target = connection.address
    print(json.dumps({"target": target, "health": health}) if args.json else f"{target}: {health}")
    return 0 if health == "SERVING" else 1


def _status_text(data: dict[str, Any]) -> str:
    lines = [f"{data['invocation_id']}  {data['skill']} / {data['tool']}  {data['state']}"]
    if "result" in data:
        lines += result_lines(data["result"])
    return "\n".join(lines)
