"""How a verb reaches the daemon: which daemon, over what, and with which credential.

The daemon: ``--target`` (a saved target's name, or an address: ``unix:PATH``, ``HOST:PORT``),
the global ``skillrt --target NAME``, ``$SKILLRT_SOCKET``, the saved targets' ``current``, and
last the default socket, in that order. A saved target brings its TLS files and token file; an
address given any other way leaves every saved target aside, so that no target's credential is
sent to a daemon it was not saved for.

The credential: ``--token-file``, ``--admin-token``, ``$SKILLRT_TOKEN``, ``$SKILLRT_TOKEN_FILE``,
the target's ``token_file``, in that order. Nothing is used unless asked for: the daemon's own
admin token only with ``--admin-token`` (or a target that names its file), and sent to this
host's socket unless a daemon is named (never to the current target). With a client
certificate and no token, no token is sent, so that the certificate names the caller. With
neither, a call that needs a credential is not made: the command line says how to give one.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import grpc

from runtime.api.locations import ADMIN_TOKEN_NAME, DEFAULT_STATE_DIR, default_state_dir
from runtime.cli.client_config import Target, load_client_config
from runtime.client import Client, Tls, default_target
from runtime.errors import BadRequest, SandboxError, SkillRuntimeError

__all__ = ["NO_TOKEN", "Connection", "RemoteError", "call", "resolve", "run_on", "target_flags"]

T = TypeVar("T")

NO_TOKEN = (
    "no token given: set $SKILLRT_TOKEN, or use --token-file FILE, --admin-token (the daemon's "
    "own, from its state directory) or --target NAME (a saved target with a token_file: "
    "skillrt target list)"
)


class RemoteError(SkillRuntimeError):
    """An error status returned by the daemon, shown as it came."""


@dataclass(frozen=True, kw_only=True)
class Connection:
    address: str
    tls: Tls | None
    token: str | None
    credential: str  # what this side sent, in words: errors about who the caller is show it


def target_flags(parser: argparse.ArgumentParser) -> None:
    """Where the daemon is and how to prove who we are to it."""
    parser.add_argument(
        "--target",
        metavar="NAME|ADDRESS",
        help="a saved target (skillrt target list), or the daemon's address: unix:PATH or "
        "HOST:PORT",
    )
    tokens = parser.add_mutually_exclusive_group()
    tokens.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="bearer token file (else $SKILLRT_TOKEN, $SKILLRT_TOKEN_FILE, the target's "
        "token_file)",
    )
    tokens.add_argument(
        "--admin-token",
        action="store_true",
        help="the daemon's own admin token, read from its state directory ($SKILLRT_STATE_DIR, "
        f"default {DEFAULT_STATE_DIR}): for its user or root",
    )
    parser.add_argument("--tls-ca", type=Path, metavar="PEM", help="CA of the daemon's TLS cert")
    parser.add_argument("--tls-cert", type=Path, metavar="PEM", help="client certificate (mTLS)")
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="client key (mTLS)")


def resolve(args: argparse.Namespace, *, anonymous: bool = False) -> Connection:
    """The daemon and credential the flags, environment and saved targets choose; ``anonymous``
    for a call that needs no credential (health)."""
    address, target = _where(args)
    tls = _tls(args, target)
    token, credential = _credential(args, target, tls, anonymous=anonymous)
    return Connection(address=address, tls=tls, token=token, credential=credential)


def call(args: argparse.Namespace, action: Callable[[Client], T], *, anonymous: bool = False) -> T:
    """Run one client call; gRPC errors become one-line messages."""
    return run_on(resolve(args, anonymous=anonymous), action)


def run_on(connection: Connection, action: Callable[[Client], T]) -> T:
    try:
        # An empty token sends none: None would let the client fall back to the environment.
        client = Client(connection.address, token=connection.token or "", tls=connection.tls)
    except OSError as exc:  # a TLS file that cannot be read
        raise BadRequest(f"TLS file {exc.filename}: {exc.strerror}") from exc
    try:
        with client:
            return action(client)
    except grpc.RpcError as exc:
        code = exc.code() if hasattr(exc, "code") else None
        details = exc.details() if hasattr(exc, "details") else str(exc)
        if code == grpc.StatusCode.UNAVAILABLE:
            raise SandboxError(f"daemon not reachable at {connection.address}: {details}") from exc
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            # Bad input is a usage error (exit 2) whether the daemon or the CLI finds it.
            raise BadRequest(f"{code.name}: {details}") from exc
        if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
            details = f"{details} (sent: {connection.credential})"
        raise RemoteError(f"{code.name if code else 'error'}: {details}") from exc


def _where(args: argparse.Namespace) -> tuple[str, Target | None]:
    named: str | None = args.target or args.global_target
    if named and (":" in named or "/" in named):
        return named, None
    if named:
        target = load_client_config().target(named)
        return target.address, target
    if os.environ.get("SKILLRT_SOCKET") or args.admin_token:
        # The admin token is this host's daemon's own: never sent to the current target.
        return default_target(), None
    current = load_client_config().current_target()
    return (current.address, current) if current else (default_target(), None)


def _tls(args: argparse.Namespace, target: Target | None) -> Tls | None:
    if args.tls_ca is not None:
        return Tls(ca=args.tls_ca, cert=args.tls_cert, key=args.tls_key)
    if args.tls_cert is not None or args.tls_key is not None:
        raise BadRequest("--tls-cert and --tls-key need --tls-ca")
    if target is not None and target.ca is not None:
        return Tls(ca=target.ca, cert=target.cert, key=target.key)
    return None


def _credential(
    args: argparse.Namespace, target: Target | None, tls: Tls | None, *, anonymous: bool
) -> tuple[str | None, str]:
    if args.token_file is not None:
        return _read(args.token_file, "--token-file"), f"token from --token-file {args.token_file}"
    if args.admin_token:
        file = default_state_dir() / ADMIN_TOKEN_NAME
        return _read(file, "--admin-token"), f"the daemon's admin token ({file})"
    if (os.environ.get("SKILLRT_TOKEN") or "").strip():
        return os.environ["SKILLRT_TOKEN"].strip(), "token from $SKILLRT_TOKEN"
    named = os.environ.get("SKILLRT_TOKEN_FILE")
    if named:
        return _read(Path(named), "$SKILLRT_TOKEN_FILE"), f"token from $SKILLRT_TOKEN_FILE {named}"
    if target is not None and target.token_file is not None:
        where = f"target {target.name}: token_file"
        return _read(target.token_file, where), f"token from {where} {target.token_file}"
    if tls is not None and tls.cert is not None:
        return None, f"client certificate {tls.cert}, no token"
    if anonymous:
        return None, "no credential"
    raise BadRequest(NO_TOKEN)


def _read(file: Path, source: str) -> str:
    try:
        token = file.read_text().strip()
    except OSError as exc:
        raise BadRequest(f"{source}: cannot read {file}: {exc.strerror}") from exc
    if not token:
        raise BadRequest(f"{source}: {file} is empty")
    return token
