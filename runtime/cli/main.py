"""``skillrt``: entry point and verb dispatch. Every error is one line and a non-zero exit."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from runtime import __version__
from runtime.cli.untrusted import printable
from runtime.errors import BadRequest, SkillRuntimeError

__all__ = ["EXIT_USAGE", "VERB_MODULES", "build_parser", "main"]

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the argument, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


# Which module serves each verb. Only the chosen verb's module is imported, so that a quick
# `skillrt exec` does not pay for gRPC servers, cryptography and the secrets store.
VERB_MODULES = {
    "run": "author",
    "exec": "author",
    "new": "scaffold",
    "validate": "validate",
    "vet": "vet",
    "completion": "completion",
    "profile": "inspect",
    "doctor": "inspect",
    "serve": "daemon",
    "invoke": "daemon",
    "skills": "skills",
    "status": "daemon",
    "init": "init",
    "token": "access",
    "certs": "access",
    "console": "console",
    "approvals": "approvals",
    "rules": "approvals",
    "secrets": "secrets",
    "session": "session",
    "audit": "operator",
    "data": "operator",
    "pool": "pool",
    "ps": "ps",
    "cancel": "ps",
    "logs": "logs",
    "top": "top",
    "usage": "usage",
    "reload": "reload",
    "config": "configcheck",
    "target": "target",
    "whoami": "target",
}
_GLOBAL_OPTIONS_WITH_VALUE = ("--profiles", "--catalog", "--target")


def _chosen_verb(argv: Sequence[str]) -> str | None:
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _GLOBAL_OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the module of the verb it names is loaded."""
    parser = _Parser(prog="skillrt", description="Run skills in nsjail sandboxes.")
    parser.add_argument("--profiles", metavar="DIR", help="sandbox profiles folder")
    parser.add_argument("--catalog", metavar="DIR", help="skills catalog folder")
    parser.add_argument(
        "--target",
        dest="global_target",
        metavar="NAME",
        help="the saved target (skillrt target list) every verb that calls the daemon uses",
    )
    parser.add_argument("--version", action="version", version=f"skillrt {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    chosen = VERB_MODULES.get(_chosen_verb(argv) or "") if argv is not None else None
    if chosen:
        modules = [chosen]
    elif argv is not None and "--version" in argv:
        modules = []  # argparse answers --version before it looks for a verb
    else:
        modules = sorted(set(VERB_MODULES.values()))
    for name in modules:
        importlib.import_module(f"runtime.cli.{name}").register(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    try:
        code: int = args.handler(args)
    except SkillRuntimeError as exc:
        # Errors name files and fields a skill's author chose: escaped like any untrusted text.
        print(printable(f"skillrt: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, BadRequest) else 1
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
