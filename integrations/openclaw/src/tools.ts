// Agent tools for skillrt's JSON tools: list the skills, invoke one tool, fetch a result later
// (after a person approved it). Each runs in a fresh sandbox of the daemon, not in the session.
import type { Daemon } from "./daemon.js";
import { finishedResult, invocationResult, pendingResult, skillsResult, type ToolResult } from "./results.js";

export const TOOL_NAMES = ["skillrt_skills", "skillrt_invoke", "skillrt_result"] as const;

export interface AgentTool {
  name: string;
  label: string;
  description: string;
  parameters: Record<string, unknown>;
  execute(toolCallId: string, params: unknown, signal?: AbortSignal): Promise<ToolResult>;
}

const nameField = (what: string) => ({ type: "string", minLength: 1, description: what });

export function skillrtTools(daemon: () => Daemon): AgentTool[] {
  return [
    {
      name: "skillrt_skills",
      label: "skillrt skills",
      description:
        "List the skills of the skillrt sandbox runtime: each tool skill's tools with their input " +
        "JSON Schema, and which need a person's approval.",
      parameters: { type: "object", properties: {}, additionalProperties: false },
      execute: async () => skillsResult(await daemon().listSkills()),
    },
    {
      name: "skillrt_invoke",
      label: "skillrt invoke",
      description:
        "Run one tool of a skillrt skill in a fresh sandbox with a JSON input, and return its JSON " +
        "output. Tools that need approval return at once saying so: tell the user.",
      parameters: {
        type: "object",
        properties: {
          skill: nameField("the skill's name, as skillrt_skills lists it"),
          tool: nameField("the tool's name within the skill"),
          input: { type: "object", description: "the tool's input, matching its input schema" },
        },
        required: ["skill", "tool"],
        additionalProperties: false,
      },
      execute: async (toolCallId, params, signal) => {
        const { skill, tool, input } = invokeParams(params);
        const outcome = await daemon().invoke(
          { skill, tool, inputJson: JSON.stringify(input), idempotencyKey: `openclaw-${toolCallId}` },
          signal,
        );
        return outcome.kind === "finished" ? finishedResult(outcome.invocation) : pendingResult(`${skill}/${tool}`, outcome);
      },
    },
    {
      name: "skillrt_result",
      label: "skillrt result",
      description: "The result of an earlier skillrt_invoke by its invocation id (for one that waited for approval).",
      parameters: {
        type: "object",
        properties: { invocation_id: nameField("the invocation id skillrt_invoke returned") },
        required: ["invocation_id"],
        additionalProperties: false,
      },
      execute: async (_toolCallId, params) => {
        const id = requiredString(params, "invocation_id");
        return invocationResult(await daemon().getInvocation(id));
      },
    },
  ];
}

/** The gateway's HTTP surface passes arguments unchecked, so the tool checks them itself. */
export function invokeParams(params: unknown): { skill: string; tool: string; input: unknown } {
  const skill = requiredString(params, "skill");
  const tool = requiredString(params, "tool");
  let input: unknown = (params as Record<string, unknown>).input ?? {};
  if (typeof input === "string") {
    try {
      input = JSON.parse(input) as unknown; // models sometimes send the object as JSON text
    } catch {
      throw new Error("skillrt_invoke: input must be a JSON object");
    }
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new Error("skillrt_invoke: input must be a JSON object");
  }
  return { skill, tool, input };
}

function requiredString(params: unknown, key: string): string {
  const value = typeof params === "object" && params !== null ? (params as Record<string, unknown>)[key] : undefined;
  if (typeof value !== "string" || value.trim() === "") throw new Error(`${key}: required, a non-empty string`);
  return value.trim();
}
