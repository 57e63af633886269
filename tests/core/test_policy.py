"""Policy decisions: standing rules, then the tool's approval mode (pure, no daemon)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runtime.approvals.rules import Effect, Rule
from runtime.core.manifest import SkillSpec, ToolSpec
from runtime.core.permissions import Permissions
from runtime.core.policy import Decision, Verdict, decide
from runtime.core.snapshots import Snapshot
from runtime.sandbox.profiles import LimitOverrides

CONTENT_HASH = "sha256:" + "a" * 64
UNEVALUABLE = {"$ref": "#/$defs/nowhere"}  # a reference that resolves nowhere


def tool_spec(approval: str) -> ToolSpec:
    return ToolSpec(
        name="mark",
        description="",
        entrypoint=("/usr/bin/true",),
        input_schema={"type": "object"},
        elevated=approval != "never",
        approval=approval,
        limits=LimitOverrides(),
    )


def skill_spec(tool: ToolSpec) -> SkillSpec:
    return SkillSpec(
        name="gated",
        description="",
        version="1.0.0",
        profile="default",
        directory=Path("/skills/gated"),
        tools=(tool,),
        permissions=Permissions(network=(), secrets=(), readonly_paths=()),
        limits=LimitOverrides(),
        snapshot=Snapshot(content_hash=CONTENT_HASH, path=Path("/nonexistent")),
    )


def rule(
    effect: Effect,
    *,
    tool: str = "mark",
    content_hash: str = CONTENT_HASH,
    schema: dict[str, Any] | None = None,
) -> Rule:
    return Rule(
        id=f"rule_{effect.value}",
        effect=effect,
        skill="gated",
        tool=tool,
        content_hash=content_hash,
        input_schema_json=json.dumps(schema) if schema is not None else "",
        created_by="alice",
        created_ms=0,
        reason="",
    )


def decided(approval: str, rules: list[Rule], input_value: Any = None) -> Decision:
    """The decision for tool 'mark' of skill 'gated', called with ``input_value`` (default {})."""
    tool = tool_spec(approval)
    return decide(skill_spec(tool), tool, {} if input_value is None else input_value, rules)


@pytest.mark.parametrize(
    ("approval", "verdict"),
    [
        ("never", Verdict.RUN),
        ("before_run", Verdict.APPROVE_BEFORE_RUN),
        ("before_return", Verdict.APPROVE_BEFORE_RETURN),
    ],
)
def test_without_rules_the_approval_mode_decides(approval: str, verdict: Verdict) -> None:
    """With no rule matching, the tool's approval mode is the verdict."""
    assert decided(approval, []) == Decision(verdict=verdict)


def test_an_unknown_approval_mode_is_treated_as_the_strictest() -> None:
    """An approval mode the code does not know asks for approval before running."""
    assert decided("sometimes", []).verdict is Verdict.APPROVE_BEFORE_RUN


def test_an_allow_rule_skips_approval() -> None:
    """A matching allow rule lets a tool that needs approval run, and is named as the reason."""
    allow = rule(Effect.ALLOW)
    assert decided("before_run", [allow]) == Decision(verdict=Verdict.RUN, rule=allow)


def test_a_deny_rule_refuses_a_tool_that_needs_no_approval() -> None:
    """A matching deny rule refuses even a tool that would otherwise run freely."""
    deny = rule(Effect.DENY)
    assert decided("never", [deny]) == Decision(verdict=Verdict.DENY, rule=deny)


@pytest.mark.parametrize("allow_first", [True, False], ids=["allow-first", "deny-first"])
def test_deny_wins_over_allow(allow_first: bool) -> None:
    """When allow and deny rules both match, deny wins whatever their order."""
    allow, deny = rule(Effect.ALLOW), rule(Effect.DENY)
    rules = [allow, deny] if allow_first else [deny, allow]
    assert decided("before_run", rules) == Decision(verdict=Verdict.DENY, rule=deny)


def test_a_rule_for_another_skill_version_does_not_match() -> None:
    """A rule bound to another content hash leaves the tool needing approval."""
    allow = rule(Effect.ALLOW, content_hash="sha256:" + "b" * 64)
    assert decided("before_run", [allow]).verdict is Verdict.APPROVE_BEFORE_RUN


def test_a_deny_rule_for_another_skill_version_does_not_match() -> None:
    """A deny rule bound to another content hash does not refuse the changed skill."""
    deny = rule(Effect.DENY, content_hash="sha256:" + "b" * 64)
    assert decided("never", [deny]).verdict is Verdict.RUN


def test_a_rule_for_another_tool_does_not_match() -> None:
    """A rule for one tool of the skill says nothing about its other tools."""
    allow = rule(Effect.ALLOW, tool="other")
    assert decided("before_run", [allow]).verdict is Verdict.APPROVE_BEFORE_RUN


def test_a_schema_bound_allow_rule_covers_matching_input_only() -> None:
    """An allow rule with an input schema allows input that fits it and no other."""
    allow = rule(Effect.ALLOW, schema={"properties": {"n": {"maximum": 10}}})
    verdicts = [decided("before_run", [allow], {"n": n}).verdict for n in (10, 11)]
    assert verdicts == [Verdict.RUN, Verdict.APPROVE_BEFORE_RUN]


def test_a_schema_bound_deny_rule_refuses_matching_input_only() -> None:
    """A deny rule with an input schema refuses input that fits it and no other."""
    deny = rule(Effect.DENY, schema={"properties": {"path": {"pattern": "^/etc/"}}})
    paths = ("/etc/shadow", "/tmp/x")
    verdicts = [decided("never", [deny], {"path": p}).verdict for p in paths]
    assert verdicts == [Verdict.DENY, Verdict.RUN]


def test_an_allow_rule_with_an_unevaluable_schema_allows_nothing() -> None:
    """An allow rule whose schema cannot be evaluated fails closed: approval is still needed."""
    allow = rule(Effect.ALLOW, schema=UNEVALUABLE)
    assert decided("before_run", [allow]).verdict is Verdict.APPROVE_BEFORE_RUN


def test_a_deny_rule_with_an_unevaluable_schema_still_denies() -> None:
    """A deny rule whose schema cannot be evaluated fails closed: the call is refused."""
    deny = rule(Effect.DENY, schema=UNEVALUABLE)
    assert decided("never", [deny]).verdict is Verdict.DENY
