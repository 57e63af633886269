// Scope key -> session id in one small JSON file under OpenClaw's state directory, so the
// gateway and the CLI (`openclaw sandbox list|recreate`) agree. OpenClaw's own keyed plugin
// state is reserved for trusted (registry-installed) plugins.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

import type { KeyStore } from "./sessions.js";

export class FileKeyStore implements KeyStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  async lookup(key: string): Promise<string | undefined> {
    return this.read()[key];
  }

  register(key: string, sessionId: string): Promise<void> {
    return this.change((entries) => {
      entries[key] = sessionId;
    });
  }

  delete(key: string): Promise<void> {
    return this.change((entries) => {
      delete entries[key];
    });
  }

  private read(): Record<string, string> {
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.path, "utf8"));
      return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, string>) : {};
    } catch {
      return {}; // none yet, or unreadable: sessions are then simply created anew
    }
  }

  /** One change at a time, each written whole and renamed into place. */
  private change(apply: (entries: Record<string, string>) => void): Promise<void> {
    const next = this.queue.then(() => {
      const entries = this.read();
      apply(entries);
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      const temporary = `${this.path}.${process.pid}.tmp`;
      writeFileSync(temporary, JSON.stringify(entries), { mode: 0o600 });
      renameSync(temporary, this.path);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
