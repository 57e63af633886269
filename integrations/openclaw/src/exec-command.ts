// The local command OpenClaw spawns for one sandbox command: the exec shim, pointed at a session.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { Connection } from "./config.js";
import { SETTINGS_VARIABLE } from "./exec-events.js";

export const SHIM_PATH = join(dirname(fileURLToPath(import.meta.url)), "shim.js");

export interface LocalCommand {
  argv: string[];
  env: Record<string, string>;
}

/** Runs `argv` in the session: this Node runs the shim, which needs nothing else from the host. */
export function shimCommand(connection: Connection, sessionId: string, argv: readonly string[]): LocalCommand {
  return {
    argv: [process.execPath, SHIM_PATH, "--session", sessionId, "--", ...argv],
    env: { [SETTINGS_VARIABLE]: JSON.stringify(connection) },
  };
}

export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/**
 * One `/bin/sh -c` script for an agent command: its environment, then the command. One Exec per
 * command, and the daemon's command rules ([sessions.commands]) see the agent's command line.
 */
export function commandScript(env: Readonly<Record<string, string>>, remoteCommand: string): string {
  // PATH names the gateway host's directories; a command finds programs on its profile's PATH.
  const exports = Object.entries(env)
    .filter(([name]) => name !== "PATH")
    .map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid environment variable name ${JSON.stringify(name)}`);
      if (value.includes("\0")) throw new Error(`environment variable ${name} contains a NUL byte`);
      return `export ${name}=${shellQuote(value)}`;
    });
  return [...exports, `exec ${remoteCommand}`].join("\n");
}
