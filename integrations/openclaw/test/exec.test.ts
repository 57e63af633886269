// The exec shim's command line, its script, and what it says about how a command ended.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";

import { parseConfig } from "../src/config.js";
import { commandScript, shimCommand, SHIM_PATH } from "../src/exec-command.js";
import { finishedNote, parseShimArguments, pendingNote, SETTINGS_VARIABLE } from "../src/exec-events.js";

test("the shim runs on this Node, gets the session and argv, and its settings in one variable", () => {
  const connection = parseConfig({ socket: "/s.sock", tokenFile: "/t" }).connection;
  const command = shimCommand(connection, "ses_1", ["/bin/sh", "-c", "ls"]);
  assert.deepEqual(command.argv, [process.execPath, SHIM_PATH, "--session", "ses_1", "--", "/bin/sh", "-c", "ls"]);
  assert.deepEqual(Object.keys(command.env), [SETTINGS_VARIABLE]);
  assert.deepEqual(JSON.parse(command.env[SETTINGS_VARIABLE] ?? ""), connection);
  assert.deepEqual(parseShimArguments(command.argv.slice(2)), { sessionId: "ses_1", argv: ["/bin/sh", "-c", "ls"] });
});

test("shim arguments without a session or a command are refused", () => {
  assert.throws(() => parseShimArguments(["--", "ls"]), /usage/);
  assert.throws(() => parseShimArguments(["--session", "s"]), /usage/);
});

test("the command script exports the environment, quoted, then runs the command", () => {
  const script = commandScript({ GREETING: "it's here", LANG: "C.UTF-8" }, "'/bin/sh' '-c' 'echo \"$GREETING\"'");
  const output = execFileSync("/bin/sh", ["-c", script], { env: {} }).toString();
  assert.equal(output, "it's here\n");
  assert.match(script, /^export GREETING=/);
});

test("the host's PATH stays on the host", () => {
  assert.doesNotMatch(commandScript({ PATH: "/opt/host/bin", LANG: "C" }, "true"), /PATH/);
});

test("environment names that are not shell names are refused", () => {
  assert.throws(() => commandScript({ "A;rm": "x" }, "true"), /invalid environment variable name/);
  assert.throws(() => commandScript({ A: "x\0y" }, "true"), /NUL/);
});

test("a timeout or a denial gets one explaining line; an exit code does not", () => {
  assert.equal(finishedNote({ status: "STATUS_NONZERO_EXIT" }), undefined);
  assert.equal(finishedNote({ status: "STATUS_OK" }), undefined);
  assert.equal(finishedNote({ status: "STATUS_TIMEOUT" }), "skillrt: the command ran out of wall time\n");
  assert.equal(
    finishedNote({ status: "STATUS_DENIED", error: "matches deny rule" }),
    "skillrt: the operator's policy or an approver refused this command (matches deny rule)\n",
  );
});

test("a pending approval says how to approve it", () => {
  const note = pendingNote({ exec_id: "inv_1", approval_id: "apr_9", expires_at_ms: 0 });
  assert.match(note, /needs a person's approval; waiting \(approve with: skillrt approvals approve apr_9\)/);
});
