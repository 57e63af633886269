"""The first owner token, and the daemon's own admin token kept fresh in a 0600 file."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from runtime.auth.roles import Role
from runtime.auth.tokens import TokenRecord, TokenStore, token_id
from runtime.errors import SkillRuntimeError
from runtime.util.clock import SYSTEM_CLOCK, Clock

__all__ = [
    "ADMIN_NAME",
    "OWNER_NAME",
    "AdminTokenKeeper",
    "TokenChange",
    "create_owner_if_none",
    "recover_owner",
    "write_secret_file",
]

log = structlog.get_logger("skillrt.auth")
OWNER_NAME = "owner"
ADMIN_NAME = "daemon-admin"
# Records a change to the token store before it is made ("created", "rotated" or "revoked", and
# what names it); raising stops the change. The caller maps it to its audit events.
TokenChange = Callable[[str, dict[str, Any]], None]


def create_owner_if_none(tokens: TokenStore, now_ms: int, *, record: TokenChange) -> str | None:
    """The owner token of a store that has no tokens yet (to be shown once), else None.

    ``record`` records the token before it is stored, so one it cannot record is never made.
    """
    if tokens.count():
        return None
    minted, token = tokens.mint(name=OWNER_NAME, role=Role.OWNER, now_ms=now_ms)
    record("created", _created(minted))
    tokens.insert(minted, token)
    return token


def recover_owner(tokens: TokenStore, now_ms: int, *, record: TokenChange) -> str:
    """A new owner token in place of a lost one: every live token named ``owner`` is revoked,
    then a new one is made (to be shown once). Each change is recorded before it is made."""
    for old in tokens.list():
        if old.name == OWNER_NAME and old.valid_at(now_ms):
            record("revoked", {"token_id": old.id, "name": old.name, "reason": "owner recovery"})
            tokens.revoke(old.id, now_ms)
    minted, token = tokens.mint(name=OWNER_NAME, role=Role.OWNER, now_ms=now_ms)
    record("created", {**_created(minted), "reason": "owner recovery"})
    tokens.insert(minted, token)
    return token


def _created(minted: TokenRecord) -> dict[str, Any]:
    return {
        "token_id": minted.id,
        "name": minted.name,
        "role": minted.role.value,
        "expires_ms": minted.expires_ms,
    }


def write_secret_file(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text``, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


class AdminTokenKeeper:
    """Keeps a valid admin token in ``path``, rotating it every ``interval_ms``.

    The previous token keeps working for ``overlap_ms`` after a rotation, so a tool that read the
    file just before is not cut off mid-task.
    """

    def __init__(
        self,
        *,
        tokens: TokenStore,
        path: Path,
        interval_ms: int,
        overlap_ms: int,
        record: TokenChange,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.tokens = tokens
        self.record = record
        self.path = path
        self.interval_ms = interval_ms
        self.overlap_ms = overlap_ms
        self.clock = clock

    def refresh(self) -> None:
        """Rotate now if the token in the file is missing, invalid or due."""
        now = self.clock.now_ms()
        current = self._read()
        record = self.tokens.verify(current, now) if current else None
        if record is not None and now - record.created_ms < self.interval_ms:
            return
        # Each change is recorded before it is made: one that cannot be recorded is not made.
        if record is not None:
            new, token = self.tokens.successor(record.id, now_ms=now)
            self.record(
                "rotated",
                {"token_id": record.id, "new_token_id": new.id, "overlap_ms": self.overlap_ms},
            )
            self.tokens.replace(record.id, new, token, overlap_ms=self.overlap_ms, now_ms=now)
        else:
            # The file is gone or stale: whatever admin token it held can no longer be used.
            for old in self.tokens.list():
                if old.name == ADMIN_NAME and old.valid_at(now):
                    self.record("revoked", {"token_id": old.id, "name": old.name})
                    self.tokens.revoke(old.id, now)
            minted, token = self.tokens.mint(name=ADMIN_NAME, role=Role.ADMIN, now_ms=now)
            self.record("created", _created(minted))
            self.tokens.insert(minted, token)
        write_secret_file(self.path, token)
        log.info("admin token rotated", token_id=token_id(token), file=str(self.path))

    def _read(self) -> str | None:
        try:
            return self.path.read_text().strip() or None
        except FileNotFoundError:
            return None

    async def run(self) -> None:
        while True:
            try:
                self.refresh()
            except SkillRuntimeError as exc:  # a full disk: the old token stays; try again later
                log.warning("admin token not rotated", error=str(exc))
            await asyncio.sleep(max(1.0, self.interval_ms / 1000 / 10))
