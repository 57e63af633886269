"""Whether an invocation may run: standing rules, then the tool's approval mode (pure).

Deny wins: a matching deny rule refuses the call whatever else matches. A matching allow rule
lets a tool that needs approval run without one. Rules are bound to the skill's content hash, so
a changed skill matches none of its old rules and needs approval again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jsonschema

from runtime.catalog import SkillSpec, ToolSpec


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

    def matches(self, skill: SkillSpec, tool: ToolSpec, input_value: Any) -> bool:
        if (self.skill, self.tool, self.content_hash) != (
            skill.name,
            tool.name,
            skill.content_hash,
        ):
            return False
        if not self.input_schema_json:
            return True
        validator = jsonschema.Draft202012Validator(json.loads(self.input_schema_json))
        try:
            return bool(validator.is_valid(input_value))
        except Exception:
            # A schema that cannot be evaluated (a $ref to nowhere) fails closed: a deny rule
            # still denies, an allow rule allows nothing.
            return self.effect is Effect.DENY


class Verdict(StrEnum):
    RUN = "run"
    DENY = "deny"
    APPROVE_BEFORE_RUN = "before_run"
    APPROVE_BEFORE_RETURN = "before_return"


@dataclass(frozen=True, kw_only=True)
class Decision:
    verdict: Verdict
    rule: Rule | None = None  # the rule that decided, if one did


def decide(skill: SkillSpec, tool: ToolSpec, input_value: Any, rules: list[Rule]) -> Decision:
    matching = [r for r in rules if r.matches(skill, tool, input_value)]
    for rule in matching:
        if rule.effect is Effect.DENY:
            return Decision(verdict=Verdict.DENY, rule=rule)
    if tool.approval == "never":
        return Decision(verdict=Verdict.RUN)
    for rule in matching:
        return Decision(verdict=Verdict.RUN, rule=rule)
    if tool.approval == "before_return":
        return Decision(verdict=Verdict.APPROVE_BEFORE_RETURN)
    if tool.approval == "before_run":
        return Decision(verdict=Verdict.APPROVE_BEFORE_RUN)
    # An approval mode this code does not know is treated as the strictest one.
    return Decision(verdict=Verdict.APPROVE_BEFORE_RUN)
