"""``skillrt init``: the owner token of a new state directory, or a lost one replaced.

It works on the state directory's files, not through the daemon, so it is for root or the
daemon's user (whoever can read the server key already).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from runtime.api import config as daemon_config
from runtime.audit import events
from runtime.auth.bootstrap import OWNER_NAME, TokenChange, create_owner_if_none, recover_owner
from runtime.auth.roles import Role
from runtime.auth.tokens import TokenStore, load_server_key
from runtime.cli.state_dir import record
from runtime.errors import BadRequest, NotAllowed
from runtime.state.schema import open_main
from runtime.util.clock import SYSTEM_CLOCK

__all__ = ["cmd_init", "register"]


def register(verbs: Any) -> None:
    init = verbs.add_parser(
        "init",
        help="create the owner token of a new state directory",
        description="Works on the state directory's files: run it as root or the daemon's user.",
    )
    init.add_argument("--state-dir", type=Path, metavar="DIR")
    init.add_argument(
        "--config", type=Path, metavar="FILE", help="the daemon's configuration (its audit keys)"
    )
    init.add_argument(
        "--recover-owner",
        action="store_true",
        help="a lost owner token: revoke every live token named owner and print a new one "
        "(audited; for root or the user that owns the state directory's server key)",
    )
    init.set_defaults(handler=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    cfg = daemon_config.load(args.config, state_dir=args.state_dir)
    if args.recover_owner:
        print(_recover(cfg))
        return 0
    cfg.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open_main(cfg.database) as db:
        tokens = TokenStore(db, load_server_key(cfg.server_key))
        owner = create_owner_if_none(tokens, SYSTEM_CLOCK.now_ms(), record=_recorder(cfg))
    if owner is None:
        raise BadRequest(
            f"{cfg.state_dir}: already initialised (tokens exist); a lost owner token is "
            "replaced with skillrt init --recover-owner"
        )
    print(owner)
    return 0


def _recorder(cfg: daemon_config.DaemonConfig) -> TokenChange:
    def record_change(change: str, fields: dict[str, Any]) -> None:
        record(cfg, events.TOKEN_CHANGES[change], **fields)

    return record_change


def _recover(cfg: daemon_config.DaemonConfig) -> str:
    _may_recover(cfg)
    with open_main(cfg.database) as db:
        tokens = TokenStore(db, load_server_key(cfg.server_key))
        now = SYSTEM_CLOCK.now_ms()
        owner = recover_owner(tokens, now, record=_recorder(cfg))
        others = [
            t
            for t in tokens.list()
            if t.role is Role.OWNER and t.name != OWNER_NAME and t.valid_at(now)
        ]
    for other in others:  # made by someone holding the owner token: worth a look
        print(f"note: owner-role token {other.id} ({other.name}) stays valid", file=sys.stderr)
    return owner


def _may_recover(cfg: daemon_config.DaemonConfig) -> None:
    """Only whoever holds the server key already (root, or the daemon's user) may mint an owner
    token with it; anyone else is told so before anything is read."""
    try:
        keyholder = cfg.server_key.stat().st_uid
    except OSError as exc:
        raise BadRequest(
            f"{cfg.server_key}: {exc.strerror}: no initialised state directory to recover"
        ) from exc
    if os.geteuid() not in (0, keyholder):
        raise NotAllowed(
            f"{cfg.state_dir}: recovering the owner token is for root or the owner of "
            f"{cfg.server_key} (uid {keyholder})"
        )
