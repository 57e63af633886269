// The parts of OpenClaw's plugin SDK this plugin uses. `openclaw/plugin-sdk/sandbox` ships no
// type declarations (the types live in the package's internal chunks), so they are declared
// here as the SDK's runtime behaves; OpenClaw itself provides the modules at run time.

declare module "openclaw/plugin-sdk/plugin-entry" {
  export interface PluginLogger {
    info(message: string): void;
    warn(message: string): void;
    error(message: string): void;
  }

  export interface OpenClawPluginApi {
    pluginConfig?: Record<string, unknown>;
    registrationMode: string;
    logger: PluginLogger;
    runtime: {
      state: {
        resolveStateDir(): string;
      };
    };
    lifecycle: {
      registerRuntimeLifecycle(registration: {
        id: string;
        cleanup(context: { reason?: string; sessionKey?: string; runId?: string }): void | Promise<void>;
      }): void;
    };
    registerTool(tool: unknown, options?: { name?: string; names?: string[]; optional?: boolean }): void;
  }

  export function definePluginEntry(entry: {
    id: string;
    name: string;
    description: string;
    register(api: OpenClawPluginApi): void;
  }): unknown;
}

declare module "openclaw/plugin-sdk/sandbox" {
  export interface SandboxConfig {
    backend: string;
    docker: { binds?: string[]; env?: Record<string, string> };
    ssh: { workspaceRoot: string; [key: string]: unknown };
    [key: string]: unknown;
  }

  export interface SandboxBackendFactoryParams {
    sessionKey: string;
    scopeKey: string;
    workspaceDir: string;
    agentWorkspaceDir: string;
    cfg: SandboxConfig;
    assertRuntimeCurrent?: () => void;
    [key: string]: unknown;
  }

  export interface SandboxBackendExecSpec {
    argv: string[];
    env: Record<string, string | undefined>;
    cwd?: string;
    stdinMode: "pipe-open" | "pipe-closed";
    assertCurrent?: () => void;
    finalizeToken?: unknown;
  }

  export interface SandboxBackendCommandResult {
    stdout: Buffer;
    stderr: Buffer;
    code: number;
  }

  export interface SandboxBackendHandle {
    id: string;
    runtimeId: string;
    runtimeLabel: string;
    workdir: string;
    buildExecSpec(params: {
      command: string;
      workdir?: string;
      env: Record<string, string>;
      usePty: boolean;
    }): Promise<SandboxBackendExecSpec>;
    runShellCommand(params: { script: string; args?: string[]; stdin?: Buffer | string; allowFailure?: boolean; signal?: AbortSignal }): Promise<SandboxBackendCommandResult>;
    [key: string]: unknown;
  }

  export interface SandboxRegistryEntry {
    containerName: string;
    sessionKey: string;
    image?: string;
    [key: string]: unknown;
  }

  export interface SandboxBackendManager {
    describeRuntime(params: { entry: SandboxRegistryEntry; config: unknown; agentId?: string }): Promise<{
      running: boolean;
      actualConfigLabel?: string;
      configLabelMatch: boolean;
    }>;
    removeRuntime(params: { entry: SandboxRegistryEntry; config: unknown; agentId?: string }): Promise<void>;
  }

  export type WorkdirResolver = (params: { cfg: SandboxConfig; scopeKey: string }) => string;

  export function registerSandboxBackend(
    id: string,
    registration: {
      factory(params: SandboxBackendFactoryParams): Promise<SandboxBackendHandle>;
      manager?: SandboxBackendManager;
      resolveWorkdir?: WorkdirResolver;
    },
  ): () => void;

  export function getSandboxBackendWorkdirResolver(id: string): WorkdirResolver | null;

  export interface RemoteShellSession {
    [key: string]: unknown;
  }

  export function createRemoteShellSandboxSession(options: {
    buildCommand(params: { remoteCommand: string; tty?: boolean }): { argv: string[]; env: Record<string, string>; cwd?: string };
    assertCurrent?: () => void;
    dispose?: () => Promise<void>;
  }): RemoteShellSession;

  export function createRemoteShellSandboxBackend(
    params: SandboxBackendFactoryParams,
    options: {
      backendId: string;
      runtimeId?: string;
      configLabel: string;
      configLabelKind: string;
      createSession(): Promise<RemoteShellSession>;
    },
  ): Promise<SandboxBackendHandle>;

  export function buildValidatedExecRemoteCommand(params: {
    command: string;
    workdir?: string;
    env: Record<string, string>;
  }): string;
}
