"""Approval requests: a durable state machine in SQLite, plus the standing rules.

    pending -> approved | denied | expired | cancelled

A request is bound to exactly one invocation (skill name, content hash, tool, input hash, and the
principal who asked) and is decided at most once: the update only applies while the row is still
pending, so of two operators deciding at once the first wins and the second is told so.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from runtime.approvals.rules import Effect, Rule
from runtime.errors import BadRequest, NoSuchEntity, NotAllowed, WrongState
from runtime.state.db import Database
from runtime.util.schema import SchemaValidator, check_schema

__all__ = [
    "ApprovalRecord",
    "ApprovalState",
    "ApprovalStore",
    "Binding",
    "check_rule",
    "new_approval_id",
    "transition",
]

_COLUMNS = (
    "id, invocation_id, state, mode, skill, version, content_hash, tool, input_json, input_hash,"
    " requested_by, created_ms, expires_ms, details_json, decided_by, decided_ms, reason, used"
)


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass(frozen=True, kw_only=True)
class Binding:
    """What an approval is for; anything else is a different request."""

    skill: str
    content_hash: str
    tool: str
    input_hash: str
    requested_by: str


@dataclass(frozen=True, kw_only=True)
class ApprovalRecord:
    id: str
    invocation_id: str
    state: ApprovalState
    mode: str
    skill: str
    version: str
    binding: Binding
    input_json: str
    created_ms: int
    expires_ms: int
    details: dict[str, Any]  # permissions and limits, as shown to the person deciding
    decided_by: str | None = None
    decided_ms: int | None = None
    reason: str | None = None
    used: bool = False


def new_approval_id() -> str:
    return f"apr_{secrets.token_hex(16)}"  # 128 random bits: unguessable


def transition(
    approval: ApprovalRecord, *, approve: bool, decided_by: str, reason: str, now_ms: int
) -> ApprovalRecord:
    """The decided approval, or the reason it cannot be decided (pure)."""
    if approval.state is not ApprovalState.PENDING:
        raise WrongState(f"approval {approval.id} is already {approval.state.value}")
    if now_ms >= approval.expires_ms:
        raise WrongState(f"approval {approval.id} has expired")
    if decided_by == approval.binding.requested_by:
        raise NotAllowed("a principal may not decide its own request")
    return replace(
        approval,
        state=ApprovalState.APPROVED if approve else ApprovalState.DENIED,
        decided_by=decided_by,
        decided_ms=now_ms,
        reason=reason,
    )


class ApprovalStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # The standing rules as last read, until this store changes them (only it writes them):
        # every call consults them, and the event loop reads them here without a trip to the
        # database's thread. Replaced whole, never changed in place.
        self._rules: tuple[Rule, ...] | None = None

    def create(self, approval: ApprovalRecord) -> None:
        b = approval.binding
        self.db.execute(
            f"INSERT INTO approvals ({_COLUMNS}) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                approval.id,
                approval.invocation_id,
                approval.state.value,
                approval.mode,
                approval.skill,
                approval.version,
                b.content_hash,
                b.tool,
                approval.input_json,
                b.input_hash,
                b.requested_by,
                approval.created_ms,
                approval.expires_ms,
                json.dumps(approval.details),
                None,
                None,
                None,
                0,
            ),
        )

    def get(self, approval_id: str) -> ApprovalRecord:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM approvals WHERE id = ?", (approval_id,)
        ).one()
        if row is None:
            raise NoSuchEntity(f"unknown approval {approval_id!r}")
        return _approval(row)

    def find(self, state: ApprovalState | None = None) -> list[ApprovalRecord]:
        if state is None:
            rows = self.db.execute(f"SELECT {_COLUMNS} FROM approvals ORDER BY created_ms").rows
        else:
            rows = self.db.execute(
                f"SELECT {_COLUMNS} FROM approvals WHERE state = ? ORDER BY created_ms",
                (state.value,),
            ).rows
        return [_approval(r) for r in rows]

    def count(self, state: ApprovalState) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM approvals WHERE state = ?", (state.value,))
        return int(row.rows[0][0])

    def record_decision(self, decided: ApprovalRecord) -> bool:
        """Store a decision if the approval is still pending; False when another came first."""
        cursor = self.db.execute(
            "UPDATE approvals SET state = ?, decided_by = ?, decided_ms = ?, reason = ?"
            " WHERE id = ? AND state = ?",
            (
                decided.state.value,
                decided.decided_by,
                decided.decided_ms,
                decided.reason,
                decided.id,
                ApprovalState.PENDING.value,
            ),
        )
        return cursor.rowcount == 1

    def mark_used(self, approval_id: str) -> bool:
        """Consume an approved approval once; False if it was already used."""
        cursor = self.db.execute(
            "UPDATE approvals SET used = 1 WHERE id = ? AND used = 0 AND state = ?",
            (approval_id, ApprovalState.APPROVED.value),
        )
        return cursor.rowcount == 1

    def expire_due(self, now_ms: int) -> list[ApprovalRecord]:
        """Mark every pending approval past its expiry as expired; returns them."""
        due = [a for a in self.find(ApprovalState.PENDING) if a.expires_ms <= now_ms]
        reason = "nobody decided before the deadline"
        return [
            self.get(a.id) for a in due if self._close(a.id, ApprovalState.EXPIRED, now_ms, reason)
        ]

    def cancel(self, approval_id: str, now_ms: int, reason: str) -> None:
        self._close(approval_id, ApprovalState.CANCELLED, now_ms, reason)

    def _close(self, approval_id: str, state: ApprovalState, now_ms: int, reason: str) -> bool:
        cursor = self.db.execute(
            "UPDATE approvals SET state = ?, decided_ms = ?, reason = ? WHERE id = ? AND state = ?",
            (state.value, now_ms, reason, approval_id, ApprovalState.PENDING.value),
        )
        return cursor.rowcount == 1

    # Standing rules.

    def add_rule(self, rule: Rule) -> Rule:
        check_rule(rule)
        self._rules = None
        self.db.execute(
            "INSERT INTO rules (id, effect, skill, tool, content_hash, input_schema_json,"
            " created_by, created_ms, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rule.id,
                rule.effect.value,
                rule.skill,
                rule.tool,
                rule.content_hash,
                rule.input_schema_json,
                rule.created_by,
                rule.created_ms,
                rule.reason,
            ),
        )
        return rule

    def rules(self) -> list[Rule]:
        rows = self.db.execute(
            "SELECT id, effect, skill, tool, content_hash, input_schema_json, created_by,"
            " created_ms, reason FROM rules ORDER BY created_ms"
        ).rows
        self._rules = tuple(_rule(r) for r in rows)
        return list(self._rules)

    def cached_rules(self) -> list[Rule] | None:
        """The rules as last read, or None when they must be read again (``rules``)."""
        cached = self._rules
        return None if cached is None else list(cached)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules():
            if rule.id == rule_id:
                return rule
        raise NoSuchEntity(f"unknown rule {rule_id!r}")

    def delete_rule(self, rule_id: str) -> Rule:
        rule = self.rule(rule_id)
        self._rules = None
        self.db.execute("DELETE FROM rules WHERE id = ?", (rule_id,))
        self._rules = None
        return rule


def check_rule(rule: Rule) -> None:
    """Refuse a rule whose input schema cannot be used, before anything records it."""
    if not rule.input_schema_json:
        return
    try:
        schema = json.loads(rule.input_schema_json)
        check_schema(schema)
        # Evaluating once surfaces references that resolve nowhere; any left on other
        # paths make the rule fail closed when it is matched.
        SchemaValidator(schema).is_valid({})
    except Exception as exc:  # jsonschema raises several unrelated exception types
        reason = " ".join(str(exc).split())[:200]
        raise BadRequest(f"input_schema_json: not a usable JSON Schema: {reason}") from exc


def _approval(row: tuple[Any, ...]) -> ApprovalRecord:
    (
        id_,
        invocation_id,
        state,
        mode,
        skill,
        version,
        content_hash,
        tool,
        input_json,
        hashed,
        requested_by,
        created,
        expires,
        details,
        decided_by,
        decided_ms,
        reason,
        used,
    ) = row
    return ApprovalRecord(
        id=id_,
        invocation_id=invocation_id,
        state=ApprovalState(state),
        mode=mode,
        skill=skill,
        version=version,
        binding=Binding(
            skill=skill,
            content_hash=content_hash,
            tool=tool,
            input_hash=hashed,
            requested_by=requested_by,
        ),
        input_json=input_json,
        created_ms=created,
        expires_ms=expires,
        details=json.loads(details),
        decided_by=decided_by,
        decided_ms=decided_ms,
        reason=reason,
        used=bool(used),
    )


def _rule(row: tuple[Any, ...]) -> Rule:
    id_, effect, skill, tool, content_hash, schema, created_by, created_ms, reason = row
    return Rule(
        id=id_,
        effect=Effect(effect),
        skill=skill,
        tool=tool,
        content_hash=content_hash,
        input_schema_json=schema,
        created_by=created_by,
        created_ms=created_ms,
        reason=reason,
    )
