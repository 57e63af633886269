// What the exec shim says about a command beyond its own output: the pure part of the shim.

/** The exit status for a command the daemon refused or could not run, as a shell would. */
export const REFUSED = 126;

/** The shim's settings, passed by the plugin in one environment variable. */
export const SETTINGS_VARIABLE = "SKILLRT_OPENCLAW_SHIM";

export interface ExecResult {
  status: string; // STATUS_OK, STATUS_TIMEOUT, ...
  error?: string;
  violations?: string[];
}

export interface ExecEvent {
  event?: "started" | "output" | "pending_approval" | "finished";
  output?: { stream: string; data: Buffer };
  pending_approval?: { exec_id: string; approval_id: string; expires_at_ms: number };
  finished?: { exec_id: string; result?: ExecResult; exit_status: number };
}

const EXPLAINED: Record<string, string> = {
  STATUS_TIMEOUT: "the command ran out of wall time",
  STATUS_CPU_LIMIT: "the command ran out of CPU time",
  STATUS_MEMORY_LIMIT: "the command ran out of memory",
  STATUS_OUTPUT_LIMIT: "the command printed more than its output limit",
  STATUS_SECCOMP_VIOLATION: "the command made a system call the sandbox forbids",
  STATUS_SANDBOX_ERROR: "the sandbox could not run the command",
  STATUS_CANCELLED: "the command was cancelled",
  STATUS_DENIED: "the operator's policy or an approver refused this command",
  STATUS_APPROVAL_EXPIRED: "nobody approved this command in time",
};

/** One stderr line for a command that did not simply exit, or undefined when it did. */
export function finishedNote(result: ExecResult | undefined): string | undefined {
  if (result === undefined) return undefined;
  const explained = EXPLAINED[result.status];
  if (explained === undefined) return undefined;
  const detail = [result.error, ...(result.violations ?? [])].filter((part) => part).join("; ");
  return `skillrt: ${explained}${detail ? ` (${detail})` : ""}\n`;
}

export function pendingNote(pending: NonNullable<ExecEvent["pending_approval"]>): string {
  const until = pending.expires_at_ms ? ` until ${new Date(pending.expires_at_ms).toISOString()}` : "";
  return (
    `skillrt: this command needs a person's approval; waiting${until} ` +
    `(approve with: skillrt approvals approve ${pending.approval_id})\n`
  );
}

export interface ShimArguments {
  sessionId: string;
  argv: string[];
}

/** `--session ID -- ARGV...`, the command line the plugin builds. */
export function parseShimArguments(args: readonly string[]): ShimArguments {
  const separator = args.indexOf("--");
  const options = separator < 0 ? args : args.slice(0, separator);
  const argv = separator < 0 ? [] : args.slice(separator + 1);
  const at = options.indexOf("--session");
  const sessionId = at < 0 ? undefined : options[at + 1];
  if (!sessionId || argv.length === 0) {
    throw new Error("usage: skillrt-exec --session SESSION_ID -- COMMAND [ARG...]");
  }
  return { sessionId, argv };
}
