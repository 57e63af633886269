// The configuration: defaults, and mistakes named by their setting.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { ConfigError, parseConfig, readToken } from "../src/config.js";

function mistake(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message;
  }
  assert.fail("the configuration was accepted");
}

test("a token alone reaches the default socket with default timeouts", () => {
  const config = parseConfig({ token: "skrt_x" });
  assert.equal(config.connection.target, "unix:/run/skillrt/skillrt.sock");
  assert.equal(config.connection.targetSetting, "socket");
  assert.deepEqual(config.timeouts, { callMs: 30_000, invokeMs: 600_000 });
  assert.deepEqual(config.session, { profile: "", skills: [], workspaceBytes: 0, idleTimeoutMs: 0 });
});

test("a TCP target uses TLS", () => {
  const config = parseConfig({ target: "skillrt.internal:7443", tokenFile: "/t", tls: { caFile: "/ca.pem" } });
  assert.equal(config.connection.target, "skillrt.internal:7443");
  assert.deepEqual(config.connection.tls, { caFile: "/ca.pem" });
});

test("a missing token names the token setting", () => {
  assert.match(mistake({ socket: "/s.sock" }), /plugins\.entries\.skillrt\.config\.token: required/);
});

test("socket and target together are refused", () => {
  assert.match(mistake({ socket: "/s", target: "h:1", token: "t" }), /config\.target: set either socket or target/);
});

test("a relative socket path is refused by name", () => {
  assert.match(mistake({ socket: "run/s.sock", token: "t" }), /config\.socket: expected an absolute path/);
});

test("a bad timeout names its setting", () => {
  assert.match(mistake({ token: "t", timeouts: { invokeMs: 0 } }), /config\.timeouts\.invokeMs/);
  assert.match(mistake({ token: "t", timeouts: { callMs: "5s" } }), /config\.timeouts\.callMs/);
});

test("session skills must be names", () => {
  assert.match(mistake({ token: "t", session: { skills: [1] } }), /config\.session\.skills/);
});

test("a token file is read at each use, trimmed", () => {
  const file = join(mkdtempSync(join(tmpdir(), "skillrt-oc-")), "token");
  writeFileSync(file, "skrt_one\n");
  const config = parseConfig({ tokenFile: file });
  assert.equal(readToken(config.connection), "skrt_one");
  writeFileSync(file, "skrt_two\n");
  assert.equal(readToken(config.connection), "skrt_two");
});

test("file settings may start with ~/", () => {
  const config = parseConfig({ tokenFile: "~/.openclaw/skillrt.token", protoDir: "~/protos" });
  assert.equal(config.connection.tokenFile, join(homedir(), ".openclaw/skillrt.token"));
  assert.equal(config.connection.protoDir, join(homedir(), "protos"));
});

test("an unreadable token file names the tokenFile setting", () => {
  const config = parseConfig({ tokenFile: "/nonexistent/token" });
  assert.throws(() => readToken(config.connection), /config\.tokenFile: cannot read \/nonexistent\/token \(ENOENT\)/);
});
