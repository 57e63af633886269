// One skillrt session per OpenClaw sandbox scope. OpenClaw calls a backend's factory many times
// for one scope, and from more than one process (the gateway, `openclaw sandbox list`), so the
// mapping lives in a store and the session is created once, reused, and recreated only when the
// daemon no longer has it active (it expired, was destroyed, or the daemon restarted).

export const ACTIVE = "SESSION_STATE_ACTIVE";

export interface SessionInfo {
  readonly id: string;
  readonly state: string; // SESSION_STATE_ACTIVE, SESSION_STATE_EXPIRED, ...
}

export interface SessionsApi {
  create(): Promise<SessionInfo>;
  /** undefined when the daemon does not know the id. */
  get(id: string): Promise<SessionInfo | undefined>;
  /** Nothing happens for an id the daemon does not know. */
  destroy(id: string): Promise<void>;
}

export interface KeyStore {
  lookup(key: string): Promise<string | undefined>;
  register(key: string, sessionId: string): Promise<void>;
  delete(key: string): Promise<void>;
}

export class SessionKeeper {
  private readonly resolving = new Map<string, Promise<string>>();

  constructor(
    private readonly api: SessionsApi,
    private readonly store: KeyStore,
  ) {}

  /** The id of the scope's active session, created if there is none. */
  ensure(scopeKey: string): Promise<string> {
    let pending = this.resolving.get(scopeKey);
    if (pending === undefined) {
      // Concurrent callers of one scope share one lookup, so only one session is created.
      pending = this.resolve(scopeKey).finally(() => this.resolving.delete(scopeKey));
      this.resolving.set(scopeKey, pending);
    }
    return pending;
  }

  /** The scope's session as the daemon sees it, or undefined when it has none. */
  async describe(scopeKey: string): Promise<SessionInfo | undefined> {
    const known = await this.store.lookup(scopeKey);
    return known === undefined ? undefined : await this.api.get(known);
  }

  /** Destroys the scope's session, if any, and forgets it. */
  async remove(scopeKey: string): Promise<void> {
    const known = await this.store.lookup(scopeKey);
    if (known !== undefined) await this.api.destroy(known);
    await this.store.delete(scopeKey);
  }

  private async resolve(scopeKey: string): Promise<string> {
    const known = await this.store.lookup(scopeKey);
    if (known !== undefined && (await this.api.get(known))?.state === ACTIVE) return known;
    const created = await this.api.create();
    await this.store.register(scopeKey, created.id);
    return created.id;
  }
}
