"""The daemon's state directory, as the operator verbs reach it from the command line.

Each verb takes ``--state-dir``, works on the files directly and records every change it makes
in the audit log under the name of the user who ran it.
"""

from __future__ import annotations

import argparse
import os
import pwd
from pathlib import Path
from typing import Any

from runtime.api import config as daemon_config
from runtime.audit.writer import AuditLog

__all__ = ["actor", "add_state_flag", "load_state", "record"]


def add_state_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=Path, metavar="DIR", help="the daemon's state")


def load_state(args: argparse.Namespace) -> daemon_config.DaemonConfig:
    return daemon_config.load(None, state_dir=args.state_dir)


def actor() -> str:
    """Who acts, for the audit log: the user's name, or its uid when it has no passwd entry
    (a container's or a service's user)."""
    uid = os.getuid()
    try:
        return f"cli:{pwd.getpwuid(uid).pw_name}"
    except KeyError:
        return f"cli:uid {uid}"


def record(state: daemon_config.DaemonConfig, event: str, **fields: Any) -> None:
    log = AuditLog(state.audit_log, keys=state.audit_keys)
    # A write cut short (a full disk) must not stop every later change from being recorded.
    log.repair(reason="torn tail found by the command line")
    log.append(event, actor=actor(), **fields)
