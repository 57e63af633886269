"""``skillrt completion bash|zsh``: a shell completion script, generated from the parser itself
(by shtab), so that every verb, action and flag the command line knows is completed."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["SHELLS", "cmd_completion", "register"]

SHELLS = ("bash", "zsh")

_EXAMPLES = """\
install:
  skillrt completion bash > /etc/bash_completion.d/skillrt     # bash, for every user
  skillrt completion zsh > "${fpath[1]}/_skillrt"               # zsh: a folder on $fpath"""


def register(verbs: Any) -> None:
    completion = verbs.add_parser(
        "completion",
        help="print a shell completion script",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    completion.add_argument("shell", choices=SHELLS)
    completion.set_defaults(handler=cmd_completion)


def cmd_completion(args: argparse.Namespace) -> int:
    # Imported here: shtab and every verb's module are needed by this verb alone.
    import shtab

    from runtime.cli.main import build_parser

    print(shtab.complete(build_parser(), shell=args.shell), end="")
    return 0
