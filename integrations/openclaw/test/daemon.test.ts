// skillrt_invoke's call against a stand-in daemon on a Unix socket, built from the same protos:
// an abort cancels the invocation by its id; a pending approval answers at once.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

import { parseConfig } from "../src/config.js";
import { BUNDLED_PROTOS } from "../src/connection.js";
import { Daemon } from "../src/daemon.js";

const socket = join(mkdtempSync(join(tmpdir(), "skillrt-oc-")), "daemon.sock");
const cancelled: string[] = [];
const tokens: string[] = [];
let server: grpc.Server;

type Stream = grpc.ServerWritableStream<{ skill: string }, unknown>;

before(async () => {
  const definition = protoLoader.loadSync("skillrt/v1/skillrt.proto", { includeDirs: [BUNDLED_PROTOS], keepCase: true });
  const v1 = (grpc.loadPackageDefinition(definition).skillrt as grpc.GrpcObject).v1 as grpc.GrpcObject;
  const service = (v1.SkillRuntime as grpc.ServiceClientConstructor).service;
  server = new grpc.Server();
  server.addService(service, {
    InvokeStream: (call: Stream) => {
      tokens.push(String(call.metadata.get("authorization")[0]));
      call.write({ accepted: { invocation_id: `inv_${call.request.skill}` } });
      if (call.request.skill === "elevated") {
        call.write({ pending_approval: { invocation_id: "inv_elevated", approval_id: "apr_1", expires_at_ms: 0 } });
      }
      // Otherwise the tool "runs" until the client goes away.
    },
    CancelInvocation: (call: grpc.ServerUnaryCall<{ id: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      cancelled.push(call.request.id);
      callback(null, { id: call.request.id });
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
});

after(() => server.forceShutdown());

const daemon = (): Daemon => new Daemon(parseConfig({ socket, token: "skrt_test", protoDir: BUNDLED_PROTOS }));

test("an abort cancels the invocation by the id the daemon accepted it under", async () => {
  const abort = new AbortController();
  const call = daemon().invoke({ skill: "slow", tool: "run", inputJson: "{}", idempotencyKey: "k1" }, abort.signal);
  await new Promise((resolve) => setTimeout(resolve, 300)); // accepted has arrived
  abort.abort(new Error("the user stopped the turn"));
  await assert.rejects(call, /the user stopped the turn/);
  for (let i = 0; i < 50 && cancelled.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(cancelled, ["inv_slow"]);
  assert.equal(tokens.at(-1), "Bearer skrt_test");
});

test("a tool that waits for a person answers at once with the approval", async () => {
  const outcome = await daemon().invoke({ skill: "elevated", tool: "run", inputJson: "{}", idempotencyKey: "k2" });
  assert.deepEqual(outcome, { kind: "pending", invocationId: "inv_elevated", approvalId: "apr_1", expiresAtMs: 0 });
});

test("an already aborted signal sends nothing", async () => {
  const before = tokens.length;
  await assert.rejects(
    daemon().invoke({ skill: "slow", tool: "run", inputJson: "{}", idempotencyKey: "k3" }, AbortSignal.abort()),
  );
  assert.equal(tokens.length, before);
});
