"""``skillrt logs``: what an invocation printed, and with ``--follow`` what it prints while it runs.

The output goes out as it came: stdout to stdout, stderr to stderr, bytes untouched (masked by
the daemon where it carried a secret). The exit code is ``status``'s: 1 when the call failed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, BinaryIO

from runtime.cli.connect import call, target_flags
from runtime.cli.results import exit_code
from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb

__all__ = ["cmd_logs", "register"]

_STREAMS = {
    pb.InvocationEvent.Output.STREAM_STDOUT: "stdout",
    pb.InvocationEvent.Output.STREAM_STDERR: "stderr",
}


def register(verbs: Any) -> None:
    logs = verbs.add_parser("logs", help="an invocation's stdout and stderr (--follow: live)")
    logs.add_argument("invocation", metavar="INVOCATION_ID")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="print output as it comes until it finishes"
    )
    only = logs.add_mutually_exclusive_group()
    only.add_argument("--stdout-only", action="store_true", help="leave out stderr")
    only.add_argument("--stderr-only", action="store_true", help="leave out stdout")
    target_flags(logs)
    logs.set_defaults(handler=cmd_logs)


def cmd_logs(args: argparse.Namespace) -> int:
    shown = {"stdout": not args.stderr_only, "stderr": not args.stdout_only}
    outputs: dict[str, BinaryIO] = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}

    def follow(client: Client) -> int:
        for event in client.watch_invocation(args.invocation, follow=args.follow):
            kind = event.WhichOneof("event")
            if kind == "output":
                stream = _STREAMS.get(event.output.stream)
                if stream is not None and shown[stream]:
                    outputs[stream].write(event.output.data)
                    outputs[stream].flush()
            elif kind == "finished":
                status = pb.Status.Name(event.finished.result.status)
                return exit_code(status.removeprefix("STATUS_").lower())
        return 0  # not finished yet (without --follow): it has not failed

    code: int = call(args, follow)
    return code
