// One skillrt session per OpenClaw scope: created once, reused, recreated when it is gone.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { FileKeyStore } from "../src/key-store.js";
import { ACTIVE, type KeyStore, type SessionInfo, SessionKeeper, type SessionsApi } from "../src/sessions.js";

class FakeDaemon implements SessionsApi {
  readonly sessions = new Map<string, SessionInfo>();
  created = 0;

  async create(): Promise<SessionInfo> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const session = { id: `ses_${++this.created}`, state: ACTIVE };
    this.sessions.set(session.id, session);
    return session;
  }

  async get(id: string): Promise<SessionInfo | undefined> {
    return this.sessions.get(id);
  }

  async destroy(id: string): Promise<void> {
    this.sessions.delete(id);
  }
}

function memoryStore(): KeyStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    lookup: async (key) => map.get(key),
    register: async (key, id) => void map.set(key, id),
    delete: async (key) => void map.delete(key),
  };
}

test("many calls for one scope, even at once, share one session", async () => {
  const daemon = new FakeDaemon();
  const keeper = new SessionKeeper(daemon, memoryStore());
  const ids = await Promise.all([keeper.ensure("agent:main:a"), keeper.ensure("agent:main:a")]);
  ids.push(await keeper.ensure("agent:main:a"));
  assert.deepEqual(ids, ["ses_1", "ses_1", "ses_1"]);
  assert.equal(daemon.created, 1);
});

test("scopes get sessions of their own", async () => {
  const keeper = new SessionKeeper(new FakeDaemon(), memoryStore());
  assert.notEqual(await keeper.ensure("a"), await keeper.ensure("b"));
});

test("a second keeper on the same store (another process) reuses the session", async () => {
  const daemon = new FakeDaemon();
  const store = memoryStore();
  const first = await new SessionKeeper(daemon, store).ensure("a");
  assert.equal(await new SessionKeeper(daemon, store).ensure("a"), first);
  assert.equal(daemon.created, 1);
});

test("an expired session is replaced by a new one", async () => {
  const daemon = new FakeDaemon();
  const keeper = new SessionKeeper(daemon, memoryStore());
  const first = await keeper.ensure("a");
  daemon.sessions.set(first, { id: first, state: "SESSION_STATE_EXPIRED" });
  const second = await keeper.ensure("a");
  assert.notEqual(second, first);
});

test("a session the daemon forgot (a restart) is replaced", async () => {
  const daemon = new FakeDaemon();
  const keeper = new SessionKeeper(daemon, memoryStore());
  const first = await keeper.ensure("a");
  daemon.sessions.clear();
  assert.notEqual(await keeper.ensure("a"), first);
});

test("remove destroys the session and forgets the scope", async () => {
  const daemon = new FakeDaemon();
  const store = memoryStore();
  const keeper = new SessionKeeper(daemon, store);
  const id = await keeper.ensure("a");
  await keeper.remove("a");
  assert.equal(daemon.sessions.has(id), false);
  assert.equal(store.map.has("a"), false);
  assert.equal(await keeper.describe("a"), undefined);
});

test("a failed creation is not remembered", async () => {
  const daemon = new FakeDaemon();
  const store = memoryStore();
  const keeper = new SessionKeeper(
    { ...daemon, get: (id) => daemon.get(id), destroy: (id) => daemon.destroy(id), create: async () => Promise.reject(new Error("down")) },
    store,
  );
  await assert.rejects(keeper.ensure("a"), /down/);
  assert.equal(store.map.size, 0);
});

test("the file store keeps scopes across instances (the gateway and the CLI)", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "skillrt-oc-")), "state", "sessions.json");
  const first = new FileKeyStore(path);
  await Promise.all([first.register("a", "ses_1"), first.register("b", "ses_2")]);
  const second = new FileKeyStore(path);
  assert.equal(await second.lookup("a"), "ses_1");
  await second.delete("a");
  assert.equal(await first.lookup("a"), undefined);
  assert.equal(await first.lookup("b"), "ses_2");
});
