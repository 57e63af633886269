// What the skillrt tools answer the model: skills, finished invocations and pending approvals,
// as text the model can relay plus structured details. Pure: no I/O.

export interface Tool {
  name: string;
  description: string;
  input_schema_json: string;
  elevated: boolean;
  approval: string;
}

export interface Skill {
  name: string;
  description: string;
  kind: string; // SKILL_KIND_TOOL or SKILL_KIND_INSTRUCTION
  available: boolean;
  unavailable_reason: string;
  tools: Tool[];
}

export interface InvocationResult {
  status: string;
  exit_code?: number;
  stdout: Buffer;
  stderr: Buffer;
  output_json: string;
  error: string;
  violations: string[];
  usage?: { wall_ms: number; cpu_ms: number; peak_memory_bytes: number };
}

export interface Invocation {
  id: string;
  skill: string;
  tool: string;
  skill_version: string;
  state: string; // INVOCATION_STATE_FINISHED, ...
  result?: InvocationResult;
  approval_id: string;
}

export interface ToolResult {
  content: { type: "text"; text: string }[];
  details: Record<string, unknown>;
}

const text = (value: string, details: Record<string, unknown>): ToolResult => ({
  content: [{ type: "text", text: value }],
  details,
});

/** `STATUS_MEMORY_LIMIT` -> `memory_limit`, as the daemon's CLI shows it. */
export function statusName(status: string): string {
  return status.replace(/^STATUS_/, "").toLowerCase();
}

export function skillsResult(skills: readonly Skill[]): ToolResult {
  const lines: string[] = [];
  for (const skill of skills) {
    const kind = skill.kind === "SKILL_KIND_INSTRUCTION" ? "instruction skill, for sessions" : "tool skill";
    const availability = skill.available ? "" : `, unavailable: ${skill.unavailable_reason}`;
    lines.push(`${skill.name} (${kind}${availability}): ${skill.description}`);
    for (const tool of skill.tools) {
      const approval = tool.elevated || (tool.approval && tool.approval !== "never") ? " [needs a person's approval]" : "";
      lines.push(`  - ${tool.name}${approval}: ${tool.description}`);
      lines.push(`    input schema: ${tool.input_schema_json || "{}"}`);
    }
  }
  return text(lines.join("\n") || "skillrt has no skills.", {
    skills: skills.map((skill) => ({
      name: skill.name,
      available: skill.available,
      tools: skill.tools.map((tool) => tool.name),
    })),
  });
}

/** A finished invocation: its output when it succeeded; otherwise an error saying why not. */
export function finishedResult(invocation: Invocation): ToolResult {
  const result = invocation.result;
  const label = `${invocation.skill}/${invocation.tool}`;
  if (result === undefined || result.status !== "STATUS_OK") {
    throw new Error(`skillrt: ${label} ended with ${failure(result)} (invocation ${invocation.id})`);
  }
  const output: unknown = result.output_json ? JSON.parse(result.output_json) : undefined;
  const shown = output === undefined ? result.stdout.toString("utf8") : JSON.stringify(output, null, 2);
  return text(shown, {
    invocationId: invocation.id,
    skill: invocation.skill,
    tool: invocation.tool,
    version: invocation.skill_version,
    output,
    usage: result.usage,
  });
}

export function pendingResult(
  label: string,
  pending: { invocationId: string; approvalId: string; expiresAtMs: number },
): ToolResult {
  const until = pending.expiresAtMs ? ` until ${new Date(pending.expiresAtMs).toISOString()}` : "";
  return text(
    `skillrt: ${label} needs a person's approval before it runs (approval ${pending.approvalId}, ` +
      `invocation ${pending.invocationId}). Tell the user: an approver can run ` +
      `\`skillrt approvals approve ${pending.approvalId}\`${until}; once approved it runs, and ` +
      `skillrt_result with invocation_id ${pending.invocationId} returns its result.`,
    { pendingApproval: true, approvalId: pending.approvalId, invocationId: pending.invocationId },
  );
}

/** An invocation looked up later: finished, still waiting for a person, or still running. */
export function invocationResult(invocation: Invocation): ToolResult {
  const label = `${invocation.skill}/${invocation.tool}`;
  if (invocation.state === "INVOCATION_STATE_FINISHED") return finishedResult(invocation);
  if (invocation.state === "INVOCATION_STATE_AWAITING_APPROVAL") {
    return pendingResult(label, { invocationId: invocation.id, approvalId: invocation.approval_id, expiresAtMs: 0 });
  }
  return text(`skillrt: ${label} is still running (invocation ${invocation.id}); ask again later.`, {
    invocationId: invocation.id,
    running: true,
  });
}

function failure(result: InvocationResult | undefined): string {
  if (result === undefined) return "no result";
  const stderr = result.stderr.toString("utf8").trim().split("\n").slice(-3).join(" / ");
  const why = [result.error, ...result.violations, stderr].filter((part) => part).join("; ");
  const code = result.exit_code !== undefined && result.status === "STATUS_NONZERO_EXIT" ? ` ${result.exit_code}` : "";
  return `status ${statusName(result.status)}${code}${why ? `: ${why}` : ""}`;
}
