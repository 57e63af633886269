"""Verbs for skill authors: ``run`` a skill's tool and ``exec`` any command in a sandbox."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.cli.flags import limit_flags, overrides, read_arg
from runtime.cli.untrusted import printable
from runtime.errors import BadRequest
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.profiles import ProfileStore
from runtime.sandbox.result import SandboxResult, Status, result_dict
from runtime.util import paths

if TYPE_CHECKING:
    from runtime.core.execute import ToolRun
from runtime.util.units import format_size

__all__ = ["EXIT_SANDBOX_ERROR", "cmd_exec", "cmd_run", "register", "secret_flags"]

EXIT_SANDBOX_ERROR = 125

_RUN_EXAMPLES = """\
examples:
  skillrt run skills_catalog/calc --tool evaluate --input '{"expression": "2**64"}'
  skillrt run text-stats --tool analyze --input @doc.json --json
  skillrt run ./my-skill --tool call --memory 64MiB --wall-time 2s --secret API_KEY=@key.txt

exit status: 0 when the tool's status is ok, 1 when it is anything else, 2 for bad input."""

_EXEC_EXAMPLES = """\
examples:
  skillrt exec --profile minimal --memory 64MiB --wall-time 2s -- /usr/bin/python3 -c 'print(1)'
  echo hello | skillrt exec --input @- -- /bin/cat

exit status: the command's own (128+N when killed by signal N), 125 when the sandbox could not
be built, 2 for bad input; with --json, 0 for status ok and 1 otherwise."""


def register(verbs: Any) -> None:
    run = verbs.add_parser(
        "run",
        help="run one tool of a skill in its sandbox",
        epilog=_RUN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("skill", metavar="SKILL_DIR_OR_NAME")
    run.add_argument("--tool", required=True, metavar="NAME")
    run.add_argument("--input", default="{}", metavar="JSON|@FILE", help="JSON input; @- for stdin")
    run.add_argument("--json", action="store_true", help="print one JSON result object")
    run.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME=@FILE",
        help="a secret the skill declares, read from FILE (@- for stdin); never a value on argv",
    )
    limit_flags(run)
    run.set_defaults(handler=cmd_run)

    exec_ = verbs.add_parser(
        "exec",
        help="run any command in a sandbox built from a profile",
        epilog=_EXEC_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    exec_.add_argument(
        "--profile", default="default", metavar="NAME", help="sandbox profile (default: default)"
    )
    exec_.add_argument("--json", action="store_true", help="print one JSON result object")
    exec_.add_argument("--input", default="", metavar="TEXT|@FILE", help="stdin for the command")
    limit_flags(exec_)
    exec_.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD [ARG...]")
    exec_.set_defaults(handler=cmd_exec)


def secret_flags(flags: list[str], *, declared: tuple[str, ...]) -> dict[str, bytes]:
    """``--secret NAME=@FILE`` values by name. A value written on the command line is refused:
    every user of the host can read a process's argv, and shells keep it in their history."""
    secrets: dict[str, bytes] = {}
    for flag in flags:
        name, sep, source = flag.partition("=")
        if not sep or not name:
            raise BadRequest(f"--secret {flag!r}: give NAME=@FILE")
        if not source.startswith("@") or len(source) < 2:
            raise BadRequest(
                f"--secret {name}: give the value in a file (NAME=@FILE), never on argv"
            )
        if name not in declared:
            raise BadRequest(f"--secret {name}: the skill does not declare it")
        try:
            raw = sys.stdin.buffer.read() if source == "@-" else Path(source[1:]).read_bytes()
        except OSError as exc:
            raise BadRequest(f"--secret {name}: cannot read {source[1:]}: {exc.strerror}") from exc
        secrets[name] = raw.removesuffix(b"\n")  # a file's final newline is not the secret's
    return secrets


def _profiles(args: argparse.Namespace) -> ProfileStore:
    return ProfileStore(Path(args.profiles) if args.profiles else paths.profiles_dir())


def cmd_run(args: argparse.Namespace) -> int:
    # Imported here: `exec` needs neither the catalog nor JSON Schema, and starts faster.
    from runtime.core.catalog import Catalog
    from runtime.core.execute import run_tool
    from runtime.util.canonical import parse_input

    catalog = Catalog(Path(args.catalog) if args.catalog else paths.catalog_dir())
    skill = catalog.resolve(args.skill)
    input_value = parse_input(read_arg(args.input, "--input"))
    run = asyncio.run(
        run_tool(
            skill=skill,
            tool_name=args.tool,
            input_value=input_value,
            profiles=_profiles(args),
            launcher=Launcher.for_host(),
            overrides=overrides(args),
            secrets=secret_flags(args.secret, declared=skill.permissions.secrets),
        )
    )
    if args.json:
        print(json.dumps({**result_dict(run.result), "output": run.output}))
    else:
        _print_run(run)
    return 0 if run.result.status is Status.OK else 1


def _print_run(run: ToolRun) -> None:
    """The result for a person: what the tool printed or quoted, escaped as it would be
    shown by ``skillrt status`` (a skill run here may come from anywhere)."""
    result = run.result
    out = io.StringIO()
    out.write(f"{run.skill} {run.version} / {run.tool}  [profile {run.profile}]\n")
    out.write(f"status: {result.status.value}{_code_text(result)}\n")
    if run.output is not None:
        out.write("output:\n" + json.dumps(run.output, indent=2, ensure_ascii=False) + "\n")
    elif result.stdout:
        out.write("stdout:\n" + _text(result.stdout) + _cut(result.stdout_truncated))
    if result.stderr:
        out.write("stderr:\n" + _text(result.stderr) + _cut(result.stderr_truncated))
    for violation in result.violations:
        out.write(f"blocked: {violation}\n")
    for attempt in result.egress:
        if attempt.allowed:  # the denied ones are violations, listed above
            problem = f" ({attempt.error})" if attempt.error else ""
            out.write(
                f"egress: {attempt.method} {attempt.target} via {attempt.address or '-'}: "
                f"{format_size(attempt.bytes_up)} up, {format_size(attempt.bytes_down)} down"
                f"{problem}\n"
            )
    if result.error:
        out.write(f"sandbox error: {result.error}\n")
    usage = result.usage
    out.write(
        f"usage: wall {usage.wall_ms} ms, cpu {usage.cpu_ms} ms, "
        f"peak memory {usage.peak_memory_bytes / 1048576:.1f} MiB\n"
    )
    sys.stdout.write(printable(out.getvalue()))


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").rstrip("\n")


def _cut(truncated: bool) -> str:
    return "\n[truncated at the output limit]\n" if truncated else "\n"


def _code_text(result: SandboxResult) -> str:
    if result.signal is not None:
        return f" (signal {result.signal})"
    if result.exit_code not in (None, 0):
        return f" (exit code {result.exit_code})"
    return ""


def cmd_exec(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise BadRequest("exec: missing command after --")
    if not command[0].startswith("/"):
        raise BadRequest(f"exec: {command[0]!r}: give the command as an absolute path")
    profile = _profiles(args).get(args.profile)
    limits = profile.limits.tighten(overrides(args), source="exec flags")
    spec = SandboxSpec(argv=tuple(command), profile=profile, limits=limits)
    stdin = read_arg(args.input, "--input").encode()
    result = asyncio.run(_exec(spec, stdin, stream=not args.json))
    if args.json:
        print(json.dumps(result_dict(result)))
        return 0 if result.status is Status.OK else 1
    if result.status not in (Status.OK, Status.NONZERO_EXIT):
        detail = "; ".join(result.violations) or result.error or ""
        print(f"skillrt: {result.status.value}: {detail}", file=sys.stderr)
    if result.status is Status.SANDBOX_ERROR:
        return EXIT_SANDBOX_ERROR
    if result.signal is not None:
        return 128 + result.signal
    return result.exit_code or 0


async def _exec(spec: SandboxSpec, stdin: bytes, *, stream: bool) -> SandboxResult:
    async def passthrough(name: str, chunk: bytes) -> None:
        target = sys.stdout.buffer if name == "stdout" else sys.stderr.buffer
        target.write(chunk)
        target.flush()

    sandbox = await Launcher.for_host().start(spec)
    return await sandbox.run(stdin, on_output=passthrough if stream else None)
