"""The schemas of skillrt's databases, as numbered migrations (see ``runtime.state.db``).

The first migration of each uses ``IF NOT EXISTS`` throughout: it adopts a database written before
schemas were versioned, whose tables already exist, as well as creating a new one. A change to a
table is a new migration at the end of its list, never an edit of one already released.
"""

from __future__ import annotations

from pathlib import Path

from runtime.state.db import Database, Migration

__all__ = ["MAIN", "SECRETS", "open_main", "open_secrets"]

# skillrt.db: invocations, API tokens, approval requests, standing rules, trusted signers,
# quarantines and console accounts.
MAIN: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="invocations, tokens, approvals and rules",
        sql="""
CREATE TABLE IF NOT EXISTS invocations (
    id TEXT PRIMARY KEY,
    skill TEXT NOT NULL,
    tool TEXT NOT NULL,
    version TEXT NOT NULL,
    profile TEXT NOT NULL,
    principal TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    created_ms INTEGER NOT NULL,
    started_ms INTEGER,
    finished_ms INTEGER,
    status TEXT,
    result_json TEXT,
    output_json TEXT,
    approval_id TEXT
);
CREATE INDEX IF NOT EXISTS invocations_state ON invocations (state);

CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    hash BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER,
    revoked_ms INTEGER,
    replaced_by TEXT
);

CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    invocation_id TEXT NOT NULL,
    state TEXT NOT NULL,
    mode TEXT NOT NULL,
    skill TEXT NOT NULL,
    version TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    tool TEXT NOT NULL,
    input_json TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    details_json TEXT NOT NULL,
    decided_by TEXT,
    decided_ms INTEGER,
    reason TEXT,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS approvals_state ON approvals (state);
CREATE TABLE IF NOT EXISTS rules (
    id TEXT PRIMARY KEY,
    effect TEXT NOT NULL,
    skill TEXT NOT NULL,
    tool TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    input_schema_json TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    reason TEXT NOT NULL
);
""",
    ),
    # Usage in columns of its own (the result JSON holds the whole output), kept when a held
    # result is discarded; the index covers the usage report, which reads a range of created_ms
    # from it without touching the rows.
    Migration(
        version=2,
        description="usage columns and an index for usage over a window",
        sql="""
ALTER TABLE invocations ADD COLUMN wall_ms INTEGER;
ALTER TABLE invocations ADD COLUMN cpu_ms INTEGER;
ALTER TABLE invocations ADD COLUMN peak_memory_bytes INTEGER;
UPDATE invocations SET
    wall_ms = json_extract(result_json, '$.usage[0]'),
    cpu_ms = json_extract(result_json, '$.usage[1]'),
    peak_memory_bytes = json_extract(result_json, '$.usage[2]')
WHERE result_json IS NOT NULL;
CREATE INDEX invocations_usage ON invocations
    (created_ms, skill, principal, state, status, cpu_ms, wall_ms, peak_memory_bytes);
""",
    ),
    # The keys whose signatures a catalog with require_signed accepts (runtime/core/signers.py).
    Migration(
        version=3,
        description="trusted signers",
        sql="""
CREATE TABLE signers (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    public_key_pem TEXT NOT NULL,
    trusted_by TEXT NOT NULL,
    trusted_ms INTEGER NOT NULL
);
""",
    ),
    # Skill contents refused until released (runtime/core/quarantine_store.py). Released rows are
    # kept as history; the partial index allows one active quarantine per content.
    Migration(
        version=4,
        description="quarantined skills",
        sql="""
CREATE TABLE quarantines (
    id INTEGER PRIMARY KEY,
    skill TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    counts_json TEXT NOT NULL,
    since_ms INTEGER NOT NULL,
    quarantined_by TEXT NOT NULL,
    released_by TEXT,
    released_ms INTEGER
);
CREATE UNIQUE INDEX quarantines_active ON quarantines (skill, content_hash)
    WHERE released_ms IS NULL;
""",
    ),
    # People who sign in to the web console (see runtime.auth.accounts): the password's argon2
    # hash, and the second factor's secret sealed under a key derived from the server key.
    Migration(
        version=5,
        description="console accounts",
        sql="""
CREATE TABLE console_accounts (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_nonce BLOB,
    totp_secret BLOB,
    totp_step INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    changed_ms INTEGER NOT NULL
);
""",
    ),
)

# secrets.db: encrypted secrets, kept apart so that the main database never holds them.
SECRETS: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="encrypted secrets",
        sql="""
CREATE TABLE IF NOT EXISTS secrets (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    key_id TEXT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    rotated_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);
""",
    ),
)


def open_main(path: Path) -> Database:
    return Database(path, MAIN)


def open_secrets(path: Path) -> Database:
    # Rare writes that must survive a power cut; no WAL, whose side files a CLI could create
    # with its own, looser umask.
    return Database(path, SECRETS, durable=True)
