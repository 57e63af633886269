"""``skillrt config check FILE``: the daemon's configuration, loaded and checked as ``serve``
would at start, without starting anything."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from runtime.api import config as daemon_config
from runtime.api.preflight import Preflight, preflight
from runtime.core.quarantine import QuarantineSettings
from runtime.errors import ConfigError, SkillRuntimeError
from runtime.util.units import format_duration

__all__ = ["cmd_config_check", "register"]


def register(verbs: Any) -> None:
    config = verbs.add_parser("config", help="the daemon's configuration file")
    actions = config.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "check",
        help="load FILE as `serve` would and check what its start checks; print a summary",
        description="Exit 0 with a summary, or 2 with one line naming the file and the key. "
        "The global --catalog and --profiles flags override the file, as they do for serve.",
    )
    check.add_argument("file", type=Path, metavar="FILE")
    check.set_defaults(handler=cmd_config_check)


def cmd_config_check(args: argparse.Namespace) -> int:
    try:
        config = daemon_config.load(
            args.file,
            catalog_dirs=(Path(args.catalog),) if args.catalog else None,
            profiles_dir=Path(args.profiles) if args.profiles else None,
        )
        found = preflight(config)
    except SkillRuntimeError as exc:
        raise ConfigError(_naming_the_file(args.file, str(exc))) from exc
    print(f"{args.file}: ok")
    print("\n".join(_summary(config, found)))
    return 0


def _naming_the_file(file: Path, message: str) -> str:
    # Errors found while parsing name the file already; those found after (a key checked
    # against another, a folder that is missing) name only the key.
    return message if message.startswith(f"{file}:") else f"{file}: {message}"


def _summary(config: daemon_config.DaemonConfig, found: Preflight) -> list[str]:
    """A few lines an operator reads to see what the file means."""
    catalogs = ", ".join(
        f"{folder} ({count} skills)"
        for folder, count in zip(config.catalog_dirs, found.skills, strict=True)
    )
    policy = "" if found.policy_present else " (absent: nothing granted)"
    lines = {
        "socket": f"unix:{config.socket_path}",
        "tcp": config.tcp_listener() or "off",
        "state dir": str(config.state_dir),
        "catalogs": catalogs,
        "profiles": f"{config.profiles_dir} ({', '.join(found.profiles)})",
        "policy": f"{found.policy_file}{policy}",
        "pool": "on" if config.pool.enabled else "off",
        "quarantine": _quarantine(config.quarantine),
    }
    return [f"  {name:<10} {value}" for name, value in lines.items()]


def _quarantine(settings: QuarantineSettings) -> str:
    if not settings.enabled:
        return "off"
    window = format_duration(settings.window_ms)
    return f"on (window {window}, running calls: {settings.running.value})"
