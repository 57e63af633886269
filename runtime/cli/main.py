"""``skillrt``: entry point and verb dispatch. Every error is one line and a non-zero exit."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from runtime.cli import access, approvals, author, daemon, inspect, operator
from runtime.errors import SkillRuntimeError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the argument, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="skillrt", description="Run skills in nsjail sandboxes.")
    parser.add_argument("--profiles", metavar="DIR", help="sandbox profiles folder")
    parser.add_argument("--catalog", metavar="DIR", help="skills catalog folder")
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    author.register(verbs)
    inspect.register(verbs)
    daemon.register(verbs)
    access.register(verbs)
    approvals.register(verbs)
    operator.register(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except SkillRuntimeError as exc:
        print(f"skillrt: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if exc.status.name == "INVALID_ARGUMENT" else 1
    except BrokenPipeError:
        # The reader went away (`| head`); nothing more can be said to it.
        sys.stderr.close()
        return 141
    except KeyboardInterrupt:
        print("skillrt: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
