"""Verbs that inspect isolation: ``profile check`` probes a real sandbox against its profile,
``doctor`` checks that this host can isolate at all."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from runtime.check import doctor as host
from runtime.check.profile_check import check_profile
from runtime.check.report import render_report, report_dict
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.profiles import ProfileStore
from runtime.util import paths
from runtime.util.table import text_table

__all__ = ["cmd_doctor", "cmd_profile_check", "register"]


def register(verbs: Any) -> None:
    profile = verbs.add_parser("profile", help="inspect sandbox profiles")
    actions = profile.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "check", help="probe a real sandbox built from a profile against what the profile promises"
    )
    check.add_argument("name", metavar="NAME")
    check.add_argument("--json", action="store_true", help="print one JSON report object")
    check.set_defaults(handler=cmd_profile_check)

    doctor = verbs.add_parser("doctor", help="check that this host can isolate as profiles ask")
    doctor.add_argument("--json", action="store_true", help="print one JSON report object")
    doctor.set_defaults(handler=cmd_doctor)


def _profiles(args: argparse.Namespace) -> ProfileStore:
    return ProfileStore(Path(args.profiles) if args.profiles else paths.profiles_dir())


def cmd_profile_check(args: argparse.Namespace) -> int:
    profile = _profiles(args).get(args.name)
    report = asyncio.run(check_profile(profile, Launcher.for_host()))
    if args.json:
        print(json.dumps(report_dict(report)))
    else:
        print(render_report(report))
    return 0 if report.ok else 1


def cmd_doctor(args: argparse.Namespace) -> int:
    checks = host.run_checks(_profiles(args))
    ok = all(check.ok for check in checks)
    if args.json:
        listed = [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks]
        print(json.dumps({"ok": ok, "checks": listed}))
    else:
        rows = [(c.name, "ok" if c.ok else "FAIL", c.detail) for c in checks]
        print("\n".join(text_table(("CHECK", "STATUS", "DETAIL"), rows)))
        verdict = "can" if ok else "cannot"
        print(f"this host {verdict} isolate as the profiles ask")
    return 0 if ok else 1
