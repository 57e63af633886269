// The plugin's configuration (plugins.entries.skillrt.config), checked once into a typed value.
// Every mistake names the setting, so an operator can fix it without reading a stack trace.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const PLUGIN_ID = "skillrt";
const PREFIX = `plugins.entries.${PLUGIN_ID}.config`;
const DEFAULT_SOCKET = "/run/skillrt/skillrt.sock";

/** A configuration mistake, named by its setting. */
export class ConfigError extends Error {
  readonly setting: string;

  constructor(setting: string, problem: string) {
    super(`skillrt plugin: ${settingPath(setting)}: ${problem}`);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/** The full path of a setting as an operator writes it in openclaw.json. */
export function settingPath(setting: string): string {
  return `${PREFIX}.${setting}`;
}

export interface TlsSettings {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly serverName?: string;
}

/** How to reach and authenticate to the daemon: all the exec shim needs, and JSON-safe. */
export interface Connection {
  readonly target: string; // a gRPC target: unix:/path or host:port
  readonly targetSetting: "socket" | "target";
  readonly tls?: TlsSettings;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly protoDir?: string;
}

export interface SessionSettings {
  readonly profile: string;
  readonly skills: readonly string[];
  readonly workspaceBytes: number;
  readonly idleTimeoutMs: number;
}

export interface Timeouts {
  readonly callMs: number; // short calls: sessions, skills, cancellation
  readonly invokeMs: number; // one skillrt_invoke, approval wait included
}

export interface PluginConfig {
  readonly connection: Connection;
  readonly timeouts: Timeouts;
  readonly session: SessionSettings;
}

type Raw = Record<string, unknown>;

export function parseConfig(raw: unknown): PluginConfig {
  const config = object(raw ?? {}, "");
  const timeouts = object(config.timeouts ?? {}, "timeouts");
  const session = object(config.session ?? {}, "session");
  return {
    connection: {
      ...target(config),
      ...token(config),
      ...files(optionalString(config, "protoDir")),
    },
    timeouts: {
      callMs: positive(timeouts, "callMs", 30_000),
      invokeMs: positive(timeouts, "invokeMs", 600_000),
    },
    session: {
      profile: optionalString(session, "profile", "session.").profile ?? "",
      skills: strings(session, "skills"),
      workspaceBytes: natural(session, "workspaceBytes", 0, "session."),
      idleTimeoutMs: natural(session, "idleTimeoutMs", 0, "session."),
    },
  };
}

/** The token to send: read from its file at each use, so a rotated token is picked up. */
export function readToken(connection: Connection): string {
  if (connection.token !== undefined) return connection.token;
  const file = connection.tokenFile ?? "";
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
    throw new ConfigError("tokenFile", `cannot read ${file} (${reason})`);
  }
  const value = text.trim();
  if (!value) throw new ConfigError("tokenFile", `${file} is empty`);
  return value;
}

function target(config: Raw): Pick<Connection, "target" | "targetSetting" | "tls"> {
  const socket = optionalString(config, "socket").socket;
  const host = optionalString(config, "target").target;
  if (socket !== undefined && host !== undefined) {
    throw new ConfigError("target", "set either socket or target (TLS), not both");
  }
  const tls = config.tls === undefined ? undefined : tlsSettings(object(config.tls, "tls"));
  if (host !== undefined) {
    if (!/^[^\s/]+:\d+$/.test(host)) throw new ConfigError("target", "expected HOST:PORT");
    return { target: host, targetSetting: "target", tls: tls ?? {} };
  }
  if (tls !== undefined) throw new ConfigError("tls", "TLS applies to target, not to socket");
  const path = socket ?? DEFAULT_SOCKET;
  if (!path.startsWith("/")) throw new ConfigError("socket", "expected an absolute path");
  return { target: `unix:${path}`, targetSetting: "socket" };
}

function tlsSettings(tls: Raw): TlsSettings {
  return {
    ...files({
      ...optionalString(tls, "caFile", "tls."),
      ...optionalString(tls, "certFile", "tls."),
      ...optionalString(tls, "keyFile", "tls."),
    }),
    ...optionalString(tls, "serverName", "tls."),
  };
}

/** File settings may start with `~/`, as in the README's snippet. */
function files<T extends Record<string, string | undefined>>(settings: T): T {
  const expanded: Record<string, string | undefined> = { ...settings };
  for (const [key, value] of Object.entries(settings)) {
    if (value?.startsWith("~/")) expanded[key] = join(homedir(), value.slice(2));
  }
  return expanded as T;
}

function token(config: Raw): Pick<Connection, "token" | "tokenFile"> {
  const value = optionalString(config, "token").token;
  const file = optionalString(config, "tokenFile").tokenFile;
  if (value !== undefined && file !== undefined) {
    throw new ConfigError("token", "set either token or tokenFile, not both");
  }
  if (value === undefined && file === undefined) {
    throw new ConfigError("token", "required: an agent token (skillrt token create --role agent), or tokenFile");
  }
  return value !== undefined ? { token: value } : files({ tokenFile: file as string });
}

function object(value: unknown, name: string): Raw {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(name || "(root)", "expected an object");
  }
  return value as Raw;
}

function optionalString<K extends string>(
  from: Raw,
  key: K,
  prefix = "",
): { [P in K]?: string } {
  const value = from[key];
  if (value === undefined) return {};
  if (typeof value !== "string" || value.trim() === "") {
    throw new ConfigError(`${prefix}${key}`, "expected a non-empty string");
  }
  return { [key]: value.trim() } as { [P in K]?: string };
}

function strings(from: Raw, key: string): string[] {
  const value = from[key] ?? [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v !== "")) {
    throw new ConfigError(`session.${key}`, "expected a list of names");
  }
  return value as string[];
}

function natural(from: Raw, key: string, fallback: number, prefix = "timeouts."): number {
  const value = from[key] ?? fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(`${prefix}${key}`, "expected a whole number, 0 or more");
  }
  return value;
}

function positive(from: Raw, key: string, fallback: number): number {
  const value = natural(from, key, fallback);
  if (value === 0) throw new ConfigError(`timeouts.${key}`, "expected more than 0");
  return value;
}
