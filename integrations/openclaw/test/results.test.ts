// What the skillrt tools tell the model.
import assert from "node:assert/strict";
import { test } from "node:test";

import { finishedResult, type Invocation, invocationResult, pendingResult, skillsResult } from "../src/results.js";
import { invokeParams } from "../src/tools.js";

function invocation(status: string, extra: Partial<Invocation["result"]> = {}): Invocation {
  return {
    id: "inv_1",
    skill: "text-stats",
    tool: "analyze",
    skill_version: "1.0.0",
    state: "INVOCATION_STATE_FINISHED",
    approval_id: "",
    result: {
      status,
      stdout: Buffer.from(""),
      stderr: Buffer.from(""),
      output_json: "",
      error: "",
      violations: [],
      ...extra,
    },
  };
}

test("a successful invocation answers its JSON output", () => {
  const result = finishedResult(invocation("STATUS_OK", { output_json: '{"words":3}' }));
  assert.equal(result.content[0]?.text, '{\n  "words": 3\n}');
  assert.deepEqual(result.details.output, { words: 3 });
  assert.equal(result.details.invocationId, "inv_1");
});

test("a failed invocation is an error that says how it ended", () => {
  assert.throws(
    () => finishedResult(invocation("STATUS_NONZERO_EXIT", { exit_code: 2, stderr: Buffer.from("boom\n") })),
    /text-stats\/analyze ended with status nonzero_exit 2: boom \(invocation inv_1\)/,
  );
  assert.throws(() => finishedResult(invocation("STATUS_MEMORY_LIMIT")), /status memory_limit/);
});

test("a pending approval tells the model what to relay and how to get the result", () => {
  const result = pendingResult("python-exec/run", { invocationId: "inv_2", approvalId: "apr_3", expiresAtMs: 0 });
  const text = result.content[0]?.text ?? "";
  assert.match(text, /needs a person's approval/);
  assert.match(text, /skillrt approvals approve apr_3/);
  assert.match(text, /skillrt_result with invocation_id inv_2/);
  assert.equal(result.details.pendingApproval, true);
});

test("a looked-up invocation still waiting says so", () => {
  const waiting = { ...invocation("STATUS_PENDING_APPROVAL"), state: "INVOCATION_STATE_AWAITING_APPROVAL", approval_id: "apr_1" };
  assert.match(invocationResult(waiting).content[0]?.text ?? "", /apr_1/);
});

test("skills are listed with their tools, schemas and approval needs", () => {
  const result = skillsResult([
    {
      name: "python-exec",
      description: "Runs Python",
      kind: "SKILL_KIND_TOOL",
      available: true,
      unavailable_reason: "",
      tools: [{ name: "run", description: "run code", input_schema_json: '{"type":"object"}', elevated: true, approval: "before_run" }],
    },
    { name: "weather", description: "Weather", kind: "SKILL_KIND_INSTRUCTION", available: false, unavailable_reason: "needs curl", tools: [] },
  ]);
  const text = result.content[0]?.text ?? "";
  assert.match(text, /python-exec \(tool skill\): Runs Python/);
  assert.match(text, /- run \[needs a person's approval\]: run code/);
  assert.match(text, /weather \(instruction skill, for sessions, unavailable: needs curl\)/);
});

test("invoke arguments are checked, and input given as JSON text is accepted", () => {
  assert.deepEqual(invokeParams({ skill: "s", tool: "t", input: '{"a":1}' }), { skill: "s", tool: "t", input: { a: 1 } });
  assert.deepEqual(invokeParams({ skill: "s", tool: "t" }).input, {});
  assert.throws(() => invokeParams({ tool: "t" }), /skill: required/);
  assert.throws(() => invokeParams({ skill: "s", tool: "t", input: [1] }), /input must be a JSON object/);
});
