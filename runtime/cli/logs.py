"""``skillrt logs``: what an invocation printed, and with ``--follow`` what it prints while it runs.

The output goes out as it came: stdout to stdout, stderr to stderr (masked by the daemon where it
carried a secret), bytes untouched to a file or pipe. To a terminal, the control characters a
tool printed are written out as escapes (``runtime.cli.untrusted``): an operator reading another
principal's output must not have its terminal driven by it. The exit code is ``status``'s: 1
when the call failed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, BinaryIO, TextIO

from runtime.cli.connect import call, target_flags
from runtime.cli.results import exit_code
from runtime.cli.untrusted import TerminalText
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
    outputs = {"stdout": _Output(sys.stdout), "stderr": _Output(sys.stderr)}

    def follow(client: Client) -> int:
        try:
            for event in client.watch_invocation(args.invocation, follow=args.follow):
                kind = event.WhichOneof("event")
                if kind == "output":
                    stream = _STREAMS.get(event.output.stream)
                    if stream is not None and shown[stream]:
                        outputs[stream].write(event.output.data)
                elif kind == "finished":
                    status = pb.Status.Name(event.finished.result.status)
                    return exit_code(status.removeprefix("STATUS_").lower())
            return 0  # not finished yet (without --follow): it has not failed
        finally:
            for output in outputs.values():
                output.end()

    code: int = call(args, follow)
    return code


class _Output:
    """One of our streams: the bytes as they come, escaped on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self._out: BinaryIO = stream.buffer
        self._shown = TerminalText() if stream.isatty() else None

    def write(self, data: bytes) -> None:
        self._out.write(self._shown.feed(data) if self._shown else data)
        self._out.flush()

    def end(self) -> None:
        if self._shown is not None:
            self._out.write(self._shown.end())
            self._out.flush()
