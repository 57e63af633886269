"""Declared versus used: what the files reach for that the skill does not declare, and what
it declares that nothing uses.

A tool skill declares in skill.toml: ``[permissions] secrets`` reach its sandbox as
environment variables of the same name (runtime/core/spec.py), ``network`` is its egress
allowlist (a tool's own list narrows it), ``readonly_paths`` are bound read-only. Anything
else it reads from the environment is not there, a host it contacts is refused, a path outside
its profile's filesystem does not exist: at best a mistake, at worst the code does something
under skillrt other than what it would do elsewhere. An instruction skill declares only the
secrets it needs (``requires.env`` in SKILL.md); its network and paths are the operator's
grants, so they are listed, not judged. Credential locations are high whatever the kind.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from runtime.check.vet.uses import Use, UseKind, credential_location, is_secret_name
from runtime.core.vetting import Severity, VetFinding
from runtime.sandbox.egress.policy import EgressRule, parse_rule, split_authority
from runtime.sandbox.filesystem import is_within

__all__ = ["Declared", "declared_findings"]

CHECK = "declared"


@dataclass(frozen=True, kw_only=True)
class Declared:
    """What a skill says it reaches, and what its sandbox holds without being asked."""

    manifest: bool  # False: an instruction skill, whose grants are the operator's
    secrets: tuple[str, ...]
    network: tuple[str, ...]  # every entry of the skill's and its tools' lists
    readonly_paths: tuple[str, ...]
    environment: frozenset[str]  # variables the sandbox sets (the profile's, the proxy's)
    filesystem: tuple[str, ...]  # what the profile's sandbox holds (binds, tmpfs, /skill, ...)
    home: str  # $HOME in the sandbox, which ~ means there
    profile: str


def declared_findings(
    declared: Declared, uses: Sequence[Use], texts: Sequence[str], *, whole_environment: bool
) -> list[VetFinding]:
    """``uses``: what the files reach for; ``texts``: the files' text, in which a declared
    entry counts as used when mentioned; ``whole_environment``: some code reads variables by
    computed names, so an unread secret cannot be told."""
    rules = [(entry, parse_rule(entry)) for entry in dict.fromkeys(declared.network)]
    findings = []
    for use in _first_of_each(uses):
        finding = {
            UseKind.ENV: _env,
            UseKind.HOST: _host,
            UseKind.PATH: _path,
        }[use.kind](declared, use, [rule for _, rule in rules])
        if finding is not None:
            findings.append(finding)
    if declared.manifest:
        findings += _unused(declared, uses, texts, rules, whole_environment=whole_environment)
    return findings


def _first_of_each(uses: Iterable[Use]) -> list[Use]:
    """One use of each value per file: the first."""
    seen: dict[tuple[UseKind, str, str], Use] = {}
    for use in sorted(uses, key=lambda u: (u.file, u.line)):
        seen.setdefault((use.kind, use.value, use.file), use)
    return list(seen.values())


def _env(declared: Declared, use: Use, _: list[EgressRule]) -> VetFinding | None:
    name = use.value
    if name in declared.secrets or name in declared.environment:
        return None
    secret = is_secret_name(name)
    if declared.manifest:
        why = "skill.toml does not declare (permissions.secrets): the sandbox never sets it"
    else:
        why = "SKILL.md does not declare (metadata.openclaw.requires.env)"
    return _finding(
        Severity.HIGH if secret else Severity.LOW,
        f"reads {'the secret-like ' if secret else ''}${name}, which {why}",
        use,
    )


def _host(declared: Declared, use: Use, rules: list[EgressRule]) -> VetFinding | None:
    try:
        host, port = split_authority(use.value, default_port=0)
    except ValueError:
        return None
    if any(rule.matches(host, port) or (port == 0 and _same_host(rule, host)) for rule in rules):
        return None
    if not declared.manifest:
        return _finding(
            Severity.INFO,
            f"contacts {use.value}: a session reaches it only if the operator grants it "
            "(skills-policy.toml)",
            use,
        )
    if not use.command:
        return _finding(
            Severity.INFO, f"mentions {use.value}, which permissions.network does not allow", use
        )
    return _finding(
        Severity.MEDIUM,
        f"contacts {use.value}, which permissions.network does not allow (the egress proxy "
        "refuses it)",
        use,
    )


def _same_host(rule: EgressRule, host: str) -> bool:
    return host.endswith(f".{rule.host}") if rule.wildcard else host == rule.host


def _path(declared: Declared, use: Use, _: list[EgressRule]) -> VetFinding | None:
    location = credential_location(use.value)
    if location is not None:
        return _finding(
            Severity.HIGH, f"refers to {use.value}: {location}, where credentials are kept", use
        )
    if not declared.manifest:
        return None
    path = _in_sandbox(use.value, declared.home)
    places = (*declared.filesystem, *declared.readonly_paths)
    if any(is_within(path, place) for place in places):
        return None
    return _finding(
        Severity.MEDIUM,
        f"refers to {use.value}, which is neither in the sandbox of profile "
        f"{declared.profile!r} nor in permissions.readonly_paths",
        use,
    )


def _in_sandbox(path: str, home: str) -> str:
    for prefix in ("${HOME}", "$HOME", "~"):
        if path == prefix or path.startswith(prefix + "/"):
            path = home + path[len(prefix) :]
            break
    return posixpath.normpath(path)


def _unused(
    declared: Declared,
    uses: Sequence[Use],
    texts: Sequence[str],
    rules: list[tuple[str, EgressRule]],
    *,
    whole_environment: bool,
) -> list[VetFinding]:
    """Declared, and used or mentioned by no file: more than the skill needs."""
    read = {use.value for use in uses if use.kind is UseKind.ENV}
    findings = [
        _finding(Severity.LOW, f"declares secret {name} (permissions.secrets), which no file reads")
        for name in declared.secrets
        if name not in read and not whole_environment
    ]
    hosts = [use for use in uses if use.kind is UseKind.HOST]
    for entry, rule in rules:
        if not any(_host(declared, use, [rule]) is None for use in hosts) and not any(
            rule.host in text for text in texts
        ):
            findings.append(
                _finding(
                    Severity.LOW,
                    f"declares network {entry} (permissions.network), which no file mentions",
                )
            )
    findings += [
        _finding(
            Severity.LOW,
            f"declares the host path {path} (permissions.readonly_paths), which no file mentions",
        )
        for path in declared.readonly_paths
        if not any(path in text for text in texts)
    ]
    return findings


def _finding(severity: Severity, message: str, use: Use | None = None) -> VetFinding:
    return VetFinding(
        severity=severity,
        check=CHECK,
        message=message,
        file="skill.toml" if use is None else use.file,
        line=None if use is None else use.line,
    )
