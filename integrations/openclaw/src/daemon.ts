// The daemon's calls the plugin itself makes (the exec shim makes its own): sessions for the
// sandbox backend, and skills, invocations and cancellation for the tools.
import type * as grpc from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";

import type { PluginConfig } from "./config.js";
import { explain, metadata, openClient, type ServiceName, SkillrtError, unary } from "./connection.js";
import type { SessionInfo, SessionsApi } from "./sessions.js";
import type { Invocation, Skill } from "./results.js";

export type InvokeOutcome =
  | { readonly kind: "finished"; readonly invocation: Invocation }
  | {
      readonly kind: "pending";
      readonly invocationId: string;
      readonly approvalId: string;
      readonly expiresAtMs: number;
    };

export interface InvokeRequest {
  readonly skill: string;
  readonly tool: string;
  readonly inputJson: string;
  readonly idempotencyKey: string;
}

interface InvocationEvent {
  event?: "accepted" | "started" | "output" | "finished" | "pending_approval";
  accepted?: { invocation_id: string };
  finished?: Invocation;
  pending_approval?: { invocation_id: string; approval_id: string; expires_at_ms: number };
}

type EventStream = grpc.ClientReadableStream<InvocationEvent>;

export class Daemon {
  private readonly clients = new Map<ServiceName, grpc.Client>();

  constructor(private readonly config: PluginConfig) {}

  /** Sessions of the configured profile, for the sandbox backend. */
  sessions(): SessionsApi {
    const session = this.config.session;
    return {
      create: () =>
        this.call<SessionInfo>("Sessions", "CreateSession", {
          profile: session.profile,
          skills: session.skills,
          workspace_bytes: session.workspaceBytes,
          idle_timeout_ms: session.idleTimeoutMs,
        }),
      get: async (id) => {
        try {
          return await this.call<SessionInfo>("Sessions", "GetSession", { id });
        } catch (error) {
          if (error instanceof SkillrtError && error.code === status.NOT_FOUND) return undefined;
          throw error;
        }
      },
      destroy: async (id) => {
        try {
          await this.call("Sessions", "DestroySession", { id });
        } catch (error) {
          if (!(error instanceof SkillrtError && error.code === status.NOT_FOUND)) throw error;
        }
      },
    };
  }

  async listSkills(): Promise<Skill[]> {
    const response = await this.call<{ skills: Skill[] }>("SkillRuntime", "ListSkills", {});
    return response.skills;
  }

  getInvocation(id: string): Promise<Invocation> {
    return this.call<Invocation>("SkillRuntime", "GetInvocation", { id });
  }

  /**
   * Runs one tool to its end, or until it waits for a person: then the invocation stays with the
   * daemon, which runs it once approved. An abort cancels the invocation itself.
   */
  invoke(request: InvokeRequest, signal?: AbortSignal): Promise<InvokeOutcome> {
    const connection = this.config.connection;
    return new Promise<InvokeOutcome>((resolve, reject) => {
      signal?.throwIfAborted();
      const client = this.client("SkillRuntime") as unknown as {
        InvokeStream(request: object, meta: grpc.Metadata, options: grpc.CallOptions): EventStream;
      };
      const call = client.InvokeStream(
        {
          skill: request.skill,
          tool: request.tool,
          input_json: request.inputJson,
          idempotency_key: request.idempotencyKey,
        },
        metadata(connection),
        { deadline: Date.now() + this.config.timeouts.invokeMs },
      );
      let invocationId = "";
      let settled = false;
      const settle = (action: () => void): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", abort);
        action();
        call.cancel();
      };
      const abort = (): void => {
        if (invocationId) void this.call("SkillRuntime", "CancelInvocation", { id: invocationId }).catch(() => undefined);
        settle(() => reject(signal?.reason ?? new Error("cancelled")));
      };
      signal?.addEventListener("abort", abort, { once: true });
      call.on("data", (event: InvocationEvent) => {
        if (event.accepted) invocationId = event.accepted.invocation_id;
        const pending = event.pending_approval;
        if (pending) {
          settle(() =>
            resolve({
              kind: "pending",
              invocationId: pending.invocation_id,
              approvalId: pending.approval_id,
              expiresAtMs: pending.expires_at_ms,
            }),
          );
        }
        const finished = event.finished;
        if (finished) settle(() => resolve({ kind: "finished", invocation: finished }));
      });
      call.on("error", (error: Error) => settle(() => reject(explain(error, connection, "timeouts.invokeMs"))));
      call.on("end", () => settle(() => reject(new Error("skillrt ended the invocation's stream without a result"))));
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private async call<T>(service: ServiceName, method: string, request: object): Promise<T> {
    return await unary<T>(this.client(service), this.config.connection, method, request, this.config.timeouts.callMs);
  }

  private client(service: ServiceName): grpc.Client {
    let client = this.clients.get(service);
    if (client === undefined) {
      client = openClient(this.config.connection, service);
      this.clients.set(service, client);
    }
    return client;
  }
}
