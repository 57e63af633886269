"""Standing rules: an operator's lasting allow or deny for one tool of one exact skill version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from runtime.util.schema import SchemaValidator

__all__ = ["Effect", "Rule"]


class Effect(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True, kw_only=True)
class Rule:
    id: str
    effect: Effect
    skill: str
    tool: str
    content_hash: str
    input_schema_json: str  # empty: any input
    created_by: str
    created_ms: int
    reason: str

    def matches(self, *, skill: str, content_hash: str, tool: str, input_value: Any) -> bool:
        """Whether this rule speaks to a call; bound to the content hash, so a changed skill
        matches none of its old rules."""
        if (self.skill, self.tool, self.content_hash) != (skill, tool, content_hash):
            return False
        if not self.input_schema_json:
            return True
        validator = SchemaValidator(json.loads(self.input_schema_json))
        try:
            return bool(validator.is_valid(input_value))
        except Exception:
            # A schema that cannot be evaluated (a $ref to nowhere) fails closed: a deny rule
            # still denies, an allow rule allows nothing.
            return self.effect is Effect.DENY
