// gRPC clients of the daemon, built from the repository's own protos at run time, and the one
// translation of gRPC failures into errors that name the setting to fix. Shared by the plugin
// and the exec shim, so it imports nothing of OpenClaw.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

import { type Connection, ConfigError, readToken, settingPath } from "./config.js";

export type ServiceName = "SkillRuntime" | "Sessions";

/** The package's own copy of protos/, put there by the build (scripts/copy-protos.mjs). */
export const BUNDLED_PROTOS = join(dirname(dirname(dirname(fileURLToPath(import.meta.url)))), "protos");

/** A failed call, explained in one line. */
export class SkillrtError extends Error {
  readonly code: grpc.status;

  constructor(code: grpc.status, message: string) {
    super(message);
    this.name = "SkillrtError";
    this.code = code;
  }
}

export function explain(error: unknown, connection: Connection, timeoutSetting = "timeouts.callMs"): Error {
  if (error instanceof ConfigError || !isServiceError(error)) return error as Error;
  // grpc-js appends an empty "Resolution note:" to connection failures.
  const details = (error.details || grpc.status[error.code]).replace(/\s*Resolution note:\s*$/, "");
  switch (error.code) {
    case grpc.status.UNAVAILABLE:
      return new SkillrtError(
        error.code,
        `cannot reach the skillrt daemon at ${connection.target} (${settingPath(connection.targetSetting)}): ${details}`,
      );
    case grpc.status.UNAUTHENTICATED: {
      const setting = connection.tokenFile !== undefined ? "tokenFile" : "token";
      return new SkillrtError(error.code, `the skillrt daemon refused the token (${settingPath(setting)}): ${details}`);
    }
    case grpc.status.DEADLINE_EXCEEDED:
      return new SkillrtError(error.code, `skillrt did not answer in time (${settingPath(timeoutSetting)})`);
    default:
      return new SkillrtError(error.code, `skillrt answered ${grpc.status[error.code]}: ${details}`);
  }
}

function isServiceError(error: unknown): error is grpc.ServiceError {
  return error instanceof Error && typeof (error as Partial<grpc.ServiceError>).code === "number";
}

const definitions = new Map<string, grpc.GrpcObject>();

function loadPackage(protoDir: string): grpc.GrpcObject {
  let loaded = definitions.get(protoDir);
  if (loaded === undefined) {
    let definition: protoLoader.PackageDefinition;
    try {
      definition = protoLoader.loadSync("skillrt/v1/sessions.proto", {
        includeDirs: [protoDir],
        keepCase: true,
        longs: Number,
        enums: String,
        defaults: true,
        oneofs: true,
      });
    } catch (error) {
      throw new ConfigError("protoDir", `cannot load skillrt/v1/sessions.proto from ${protoDir}: ${String(error)}`);
    }
    loaded = grpc.loadPackageDefinition(definition);
    definitions.set(protoDir, loaded);
  }
  return loaded;
}

export function credentials(connection: Connection): grpc.ChannelCredentials {
  if (connection.targetSetting === "socket") return grpc.credentials.createInsecure();
  const tls = connection.tls ?? {};
  const read = (setting: keyof typeof tls): Buffer | null => {
    const file = tls[setting];
    if (file === undefined) return null;
    try {
      return readFileSync(file);
    } catch {
      throw new ConfigError(`tls.${setting}`, `cannot read ${file}`);
    }
  };
  return grpc.credentials.createSsl(read("caFile"), read("keyFile"), read("certFile"));
}

export function openClient(connection: Connection, service: ServiceName): grpc.Client {
  const skillrt = loadPackage(connection.protoDir ?? BUNDLED_PROTOS).skillrt as grpc.GrpcObject;
  const Client = (skillrt.v1 as grpc.GrpcObject)[service] as grpc.ServiceClientConstructor;
  const options: grpc.ChannelOptions = {};
  if (connection.tls?.serverName !== undefined) {
    options["grpc.ssl_target_name_override"] = connection.tls.serverName;
  }
  return new Client(connection.target, credentials(connection), options);
}

export function metadata(connection: Connection): grpc.Metadata {
  const meta = new grpc.Metadata();
  meta.set("authorization", `Bearer ${readToken(connection)}`);
  return meta;
}

type UnaryMethod = (
  request: unknown,
  meta: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

/** One unary call; failures come back explained. */
export function unary<T>(
  client: grpc.Client,
  connection: Connection,
  method: string,
  request: object,
  timeoutMs: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      const call = (client as unknown as Record<string, UnaryMethod>)[method];
      if (call === undefined) throw new Error(`no such method ${method}`);
      call.call(client, request, metadata(connection), { deadline: Date.now() + timeoutMs }, (error, response) =>
        error ? reject(explain(error, connection)) : resolve(response as T),
      );
    } catch (error) {
      reject(explain(error, connection));
    }
  });
}
