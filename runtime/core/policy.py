"""Whether an invocation may run: standing rules, then the tool's approval mode (pure).

Deny wins: a matching deny rule refuses the call whatever else matches. A matching allow rule
lets a tool that needs approval run without one. Rules are bound to the skill's content hash, so
a changed skill matches none of its old rules and needs approval again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from runtime.approvals.rules import Effect, Rule
from runtime.core.manifest import SkillSpec, ToolSpec

__all__ = ["Decision", "Verdict", "decide"]


class Verdict(StrEnum):
    RUN = "run"
    DENY = "deny"
    APPROVE_BEFORE_RUN = "before_run"
    APPROVE_BEFORE_RETURN = "before_return"


@dataclass(frozen=True, kw_only=True)
class Decision:
    verdict: Verdict
    rule: Rule | None = None  # the standing rule that decided, if one did
    reason: str = ""  # why, when no standing rule decided (an operator's command policy)


def decide(skill: SkillSpec, tool: ToolSpec, input_value: Any, rules: list[Rule]) -> Decision:
    matching = [
        r
        for r in rules
        if r.matches(
            skill=skill.name,
            content_hash=skill.content_hash,
            tool=tool.name,
            input_value=input_value,
        )
    ]
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
