// gRPC failures become one line that names what to fix.
import assert from "node:assert/strict";
import { test } from "node:test";

import { status } from "@grpc/grpc-js";

import { parseConfig } from "../src/config.js";
import { explain } from "../src/connection.js";

const serviceError = (code: status, details: string): Error => Object.assign(new Error(details), { code, details });

test("an unreachable daemon names the socket setting and the target", () => {
  const connection = parseConfig({ socket: "/nope.sock", token: "t" }).connection;
  const error = explain(serviceError(status.UNAVAILABLE, "connect ENOENT /nope.sock. Resolution note: "), connection);
  assert.equal(
    error.message,
    "cannot reach the skillrt daemon at unix:/nope.sock (plugins.entries.skillrt.config.socket): connect ENOENT /nope.sock.",
  );
});

test("a refused token names token or tokenFile, whichever is set", () => {
  const inline = parseConfig({ token: "t" }).connection;
  const file = parseConfig({ tokenFile: "/t" }).connection;
  const refused = serviceError(status.UNAUTHENTICATED, "invalid or missing credentials");
  assert.match(explain(refused, inline).message, /config\.token\): invalid or missing credentials$/);
  assert.match(explain(refused, file).message, /config\.tokenFile\): invalid or missing credentials$/);
});

test("a deadline names the timeout that ran out", () => {
  const connection = parseConfig({ token: "t" }).connection;
  const late = serviceError(status.DEADLINE_EXCEEDED, "Deadline exceeded");
  assert.match(explain(late, connection, "timeouts.invokeMs").message, /config\.timeouts\.invokeMs/);
});

test("other refusals keep the daemon's words", () => {
  const connection = parseConfig({ token: "t" }).connection;
  const error = explain(serviceError(status.NOT_FOUND, "unknown skill 'x'"), connection);
  assert.equal(error.message, "skillrt answered NOT_FOUND: unknown skill 'x'");
});
