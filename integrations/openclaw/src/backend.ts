// The `skillrt` sandbox backend: OpenClaw's exec, read, write and edit run in one skillrt session
// per sandbox scope. OpenClaw's shared remote-shell helpers seed the workspace, validate working
// directories and provide the file bridge over "run this /bin/sh script" calls, each of which is
// the exec shim running one command in the session.
import { createHash } from "node:crypto";

import {
  buildValidatedExecRemoteCommand,
  createRemoteShellSandboxBackend,
  createRemoteShellSandboxSession,
  getSandboxBackendWorkdirResolver,
  type SandboxBackendFactoryParams,
  type SandboxBackendHandle,
  type SandboxBackendManager,
  type SandboxConfig,
  type WorkdirResolver,
} from "openclaw/plugin-sdk/sandbox";

import type { PluginConfig } from "./config.js";
import { commandScript, shimCommand } from "./exec-command.js";
import { ACTIVE, type SessionKeeper } from "./sessions.js";

export const BACKEND_ID = "skillrt";

// Only a session's /workspace (and /tmp) outlive a command, so OpenClaw's runtime root is there.
const WORKSPACE_ROOT = "/workspace";

export interface BackendDependencies {
  /** The parsed configuration; throws the configuration's error when it has one. */
  config(): PluginConfig;
  keeper(): SessionKeeper;
}

export function skillrtBackend(deps: BackendDependencies): {
  factory(params: SandboxBackendFactoryParams): Promise<SandboxBackendHandle>;
  manager: SandboxBackendManager;
  resolveWorkdir: WorkdirResolver;
} {
  return {
    factory: (params) => createHandle(deps, params),
    manager: {
      describeRuntime: async ({ entry }) => {
        const label = configLabel(deps.config());
        const session = await deps.keeper().describe(entry.sessionKey);
        return { running: session?.state === ACTIVE, actualConfigLabel: label, configLabelMatch: entry.image === label };
      },
      removeRuntime: async ({ entry }) => await deps.keeper().remove(entry.sessionKey),
    },
    resolveWorkdir: ({ cfg, scopeKey }) => sharedLayout()({ cfg: inWorkspace(cfg), scopeKey }),
  };
}

async function createHandle(deps: BackendDependencies, params: SandboxBackendFactoryParams): Promise<SandboxBackendHandle> {
  const config = deps.config();
  const keeper = deps.keeper();
  const connection = config.connection;
  const current = params.assertRuntimeCurrent ? { assertCurrent: params.assertRuntimeCurrent } : {};
  // Cheap and free of I/O: the session is found (or made) when the first command needs it.
  const handle = await createRemoteShellSandboxBackend(
    { ...params, cfg: inWorkspace(params.cfg) },
    {
      backendId: BACKEND_ID,
      runtimeId: runtimeId(params.scopeKey),
      configLabel: configLabel(config),
      configLabelKind: "Daemon",
      createSession: async () => {
        const sessionId = await keeper.ensure(params.scopeKey);
        return createRemoteShellSandboxSession({
          ...current,
          buildCommand: ({ remoteCommand }) => shimCommand(connection, sessionId, ["/bin/sh", "-c", remoteCommand]),
        });
      },
    },
  );
  return {
    ...handle,
    // The shared helper stages each command as a script file and runs it with a second call;
    // one Exec of the command itself is faster, and lets the daemon's command rules see it.
    buildExecSpec: async ({ command, workdir, env }) => {
      const remote = buildValidatedExecRemoteCommand({ command, workdir: workdir ?? handle.workdir, env: {} });
      const sessionId = await keeper.ensure(params.scopeKey);
      const local = shimCommand(connection, sessionId, ["/bin/sh", "-c", commandScript(env, remote)]);
      return { argv: local.argv, env: local.env, stdinMode: "pipe-open", ...current };
    },
  };
}

function inWorkspace(cfg: SandboxConfig): SandboxConfig {
  return { ...cfg, ssh: { ...cfg.ssh, workspaceRoot: WORKSPACE_ROOT } };
}

function sharedLayout(): WorkdirResolver {
  const resolver = getSandboxBackendWorkdirResolver("ssh");
  if (!resolver) throw new Error("the skillrt sandbox backend needs OpenClaw's shared remote workspace layout");
  return resolver;
}

/** Stable per scope: OpenClaw's sandbox registry keys its entries by it. */
export function runtimeId(scopeKey: string): string {
  return `skillrt-${createHash("sha256").update(scopeKey).digest("hex").slice(0, 24)}`;
}

export function configLabel(config: PluginConfig): string {
  return `${config.connection.target} profile=${config.session.profile || "workspace"}`;
}
