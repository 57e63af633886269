"""``[catalog] require_signed``: a catalog gate that serves only skills signed by a trusted key.

Asked of every loaded skill, tool and instruction alike, on every listing and every call: a
skill is served only if the signature document beside its folder verifies with a key the daemon
trusts now, names the skill, is for the content hash of the snapshot the daemon serves (so any
byte of any file changed refuses it), and carries a passing vet record of that same content
(runtime/core/signing.py). Anything else, including an error of the check itself, refuses the
skill with a one-line reason saying what to do.

The verdict is kept while the document's file status (inode, size, mtime, ctime), the content
hash and the trusted set stay the same, so the hot path is one ``lstat``. A document changed
within the timestamps' granularity could keep its status: a verdict is therefore kept only for a
document whose status is older than ``_SETTLED_NS`` when it was read; a fresher one is read
again on every ask until it settles.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runtime.core.catalog import SkillEntry
from runtime.core.signers import SignerStore
from runtime.core.signing import TrustedKey, signature_path, unsigned, verify_file
from runtime.errors import WrongState

__all__ = ["SignatureGate"]

# Longer than any filesystem's timestamp tick: a later change is then seen in the status.
_SETTLED_NS = 1_000_000_000
# Verdicts kept at most: one per skill; more means folders came and went, start over.
_MAX_KEPT = 4096

_Status = tuple[int, int, int, int, int, int]  # device, inode, mode, size, mtime, ctime
_Key = tuple[_Status, str, str, int]  # the status, skill, content hash, trusted generation


@dataclass(frozen=True, kw_only=True)
class _Verdict:
    signer: TrustedKey | None
    reason: str | None


class SignatureGate:
    """A catalog gate (``Catalog(gates=[...])``); ``required`` may change at any time (a
    reload) and applies from the next ask."""

    def __init__(
        self,
        signers: SignerStore,
        *,
        required: bool,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.signers = signers
        self.required = required
        self._now_ns = now_ns
        self._kept: dict[Path, tuple[_Key, _Verdict]] = {}

    def __call__(self, entry: SkillEntry) -> str | None:
        """Why ``entry`` may not be served, or None."""
        if not self.required:
            return None
        return self._verdict(entry).reason

    def signed_by(self, entry: SkillEntry) -> TrustedKey | None:
        """Who signed ``entry`` as it is now, when signatures are required and it verifies."""
        if not self.required:
            return None
        return self._verdict(entry).signer

    def judge(self, entry: SkillEntry) -> tuple[TrustedKey | None, str | None]:
        """Who signed ``entry`` as it is now, or why it does not verify, whether or not
        signatures are required (for pages that show it)."""
        verdict = self._verdict(entry)
        return verdict.signer, verdict.reason

    def _verdict(self, entry: SkillEntry) -> _Verdict:
        try:
            return self._judged(entry)
        except Exception as exc:  # fail closed: a check that cannot be made refuses
            return _Verdict(signer=None, reason=f"its signature could not be checked: {exc}")

    def _judged(self, entry: SkillEntry) -> _Verdict:
        if entry.skill is None:
            return _Verdict(signer=None, reason="not loaded, so its signature cannot be checked")
        path = signature_path(entry.directory)
        try:
            status = os.lstat(path)
        except FileNotFoundError:
            return _Verdict(signer=None, reason=unsigned(path))
        trusted = self.signers.trusted()
        content_hash = entry.skill.content_hash
        key: _Key = (
            (
                status.st_dev,
                status.st_ino,
                status.st_mode,
                status.st_size,
                status.st_mtime_ns,
                status.st_ctime_ns,
            ),
            entry.name,
            content_hash,
            trusted.generation,
        )
        kept = self._kept.get(path)
        if kept is not None and kept[0] == key:
            return kept[1]
        try:
            verified = verify_file(
                path, skill=entry.name, content_hash=content_hash, trusted=trusted.keys
            )
        except WrongState as exc:
            verdict = _Verdict(signer=None, reason=str(exc))
        else:
            verdict = _Verdict(signer=verified.signer, reason=None)
        self._keep(path, key, verdict, status.st_ctime_ns)
        return verdict

    def _keep(self, path: Path, key: _Key, verdict: _Verdict, changed_ns: int) -> None:
        if self._now_ns() - changed_ns < _SETTLED_NS:
            self._kept.pop(path, None)  # fresh: a change now might not show in its status
            return
        if len(self._kept) >= _MAX_KEPT:
            self._kept.clear()
        self._kept[path] = (key, verdict)
