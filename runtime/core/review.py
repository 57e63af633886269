"""A skill's review as an operator reads it: its vet record and its signature, each judged
against the folder as the catalog serves it now.

Pages show this whether or not the daemon requires signed skills: a reviewer wants to see
that a skill was vetted (by whom, when, with what verdict) and signed, and when a record or a
signature is for content the folder no longer holds.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from runtime.core.catalog import SkillEntry
from runtime.core.signature_gate import SignatureGate
from runtime.core.vetting import read_record, record_path
from runtime.errors import SkillRuntimeError

__all__ = ["Review", "review"]


@dataclass(frozen=True, kw_only=True)
class Review:
    vet: str  # one line
    vet_ok: bool  # a passing record of this very content
    signature: str  # one line
    signed: bool  # a valid signature by a trusted key, of this very content


def review(entry: SkillEntry, signatures: SignatureGate) -> Review:
    """The review state of a loaded skill (a broken one has none to show)."""
    vet, vet_ok = _vet(entry)
    signer, reason = signatures.judge(entry)
    if signer is not None:
        signature, signed = f"signed by {signer.name} ({signer.key_id})", True
    else:
        signature, signed = reason or "unsigned", False
    return Review(vet=vet, vet_ok=vet_ok, signature=signature, signed=signed)


def _vet(entry: SkillEntry) -> tuple[str, bool]:
    if entry.skill is None:
        return "not loaded, so its vet record cannot be judged", False
    path = record_path(entry.directory)
    try:
        record = read_record(path)
    except SkillRuntimeError as exc:
        if not path.exists() and not path.is_symlink():
            return "not vetted (skillrt vet)", False
        return f"unreadable vet record: {exc}", False
    if record.content_hash != entry.skill.content_hash or record.skill != entry.name:
        return "the vet record is for other content: the folder changed since it was vetted", False
    when = _when(record.vetted_at)
    if record.passed:
        return f"vetted by {record.vetted_by} at {when}: passed", True
    failing = sum(1 for f in record.findings if f.severity >= record.threshold)
    return (
        f"vetted by {record.vetted_by} at {when}: failed ({failing} finding(s) at or above "
        f"{record.threshold.label})",
        False,
    )


def _when(stamp: str) -> str:
    try:
        moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
