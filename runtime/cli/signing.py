"""``skillrt skills keygen|sign|trust|distrust|signers|verify``: signed catalogs.

A skill author or reviewer makes a key (``keygen``), vets a folder (``skillrt vet``) and signs
what was vetted (``sign``); the owner tells the daemon whose signatures to accept (``trust``,
``distrust``, ``signers``); anyone can check a folder as it is now against its signature
(``verify``), with public key files or with the daemon's trusted signers.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runtime.cli.connect import target_flags

__all__ = ["register"]


def register(actions: Any) -> None:
    keygen = actions.add_parser("keygen", help="make an Ed25519 signing key")
    keygen.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help="the private key (0600); the public key goes to FILE.pub; neither is overwritten",
    )
    keygen.set_defaults(handler=_run("cmd_keygen"))

    signer = actions.add_parser("sign", help="sign a vetted skill folder as it is now")
    signer.add_argument("skill_dir", type=Path, metavar="SKILL_DIR")
    signer.add_argument("--key", type=Path, required=True, metavar="FILE", help="private key")
    signer.add_argument(
        "--vet-record", type=Path, metavar="FILE", help="default: <SKILL_DIR>.vet.json"
    )
    signer.set_defaults(handler=_run("cmd_sign"))

    trust = actions.add_parser("trust", help="have the daemon accept a key's signatures (owner)")
    trust.add_argument("public_key", type=Path, metavar="PUBKEY_FILE")
    trust.add_argument(
        "--name",
        help="the name its signatures are shown under (default: the file's name without .pub, "
        ".pem or .key, e.g. alice for alice.key.pub)",
    )
    trust.set_defaults(handler=_run("cmd_trust"))

    distrust = actions.add_parser("distrust", help="stop accepting a signer's signatures (owner)")
    distrust.add_argument("name", metavar="NAME")
    distrust.set_defaults(handler=_run("cmd_distrust"))

    signers = actions.add_parser("signers", help="the daemon's trusted signers")
    signers.add_argument("--json", action="store_true")
    signers.set_defaults(handler=_run("cmd_signers"))

    verify = actions.add_parser(
        "verify", help="check a skill folder as it is now against its signature"
    )
    verify.add_argument("skill_dir", type=Path, metavar="SKILL_DIR")
    verify.add_argument(
        "--key",
        type=Path,
        action="append",
        default=[],
        metavar="PUBKEY_FILE",
        help="a key to accept (repeatable); default: the daemon's trusted signers",
    )
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=_run("cmd_verify"))
    for parser in (trust, distrust, signers, verify):
        target_flags(parser)


def _run(name: str) -> Callable[[argparse.Namespace], int]:
    """The handler ``name`` of runtime/cli/signing_actions.py, imported when it runs."""

    def handler(args: argparse.Namespace) -> int:
        done: int = getattr(importlib.import_module("runtime.cli.signing_actions"), name)(args)
        return done

    return handler
