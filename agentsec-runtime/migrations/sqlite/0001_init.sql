-- agentsec store, schema 1 (SQLite). Times are Unix milliseconds; ids are
-- hyphenated UUID text; JSON is stored as text and validated on read.
CREATE TABLE runs (
    id            TEXT PRIMARY KEY NOT NULL,
    agent         TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    tenant        TEXT,
    status        TEXT NOT NULL,
    state         TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    step_count    INTEGER NOT NULL DEFAULT 0,
    lease_owner   TEXT,
    lease_until   INTEGER
);
CREATE INDEX runs_status_lease ON runs (status, lease_until);
CREATE INDEX runs_agent ON runs (agent, created_at);
CREATE INDEX runs_user ON runs (user_id, created_at);
CREATE INDEX runs_created ON runs (created_at);

CREATE TABLE steps (
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    data    TEXT NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE approvals (
    id            TEXT PRIMARY KEY NOT NULL,
    run_id        TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    call_id       TEXT NOT NULL,
    tool          TEXT NOT NULL,
    args_sha256   TEXT NOT NULL,
    status        TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    requested_at  INTEGER NOT NULL,
    decided_by    TEXT,
    reason        TEXT,
    edited_args   TEXT,
    expires_at    INTEGER NOT NULL,
    decided_at    INTEGER,
    signature     TEXT
);
CREATE INDEX approvals_run ON approvals (run_id);
CREATE INDEX approvals_status ON approvals (status, expires_at);

CREATE TABLE intents (
    run_id           TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    call_id          TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL UNIQUE,
    approval_id      TEXT,
    started_at       INTEGER NOT NULL,
    result           TEXT,
    finished_at      INTEGER,
    PRIMARY KEY (run_id, call_id)
);

CREATE TABLE run_usage (
    run_id          TEXT PRIMARY KEY NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    tokens_in       INTEGER NOT NULL,
    tokens_out      INTEGER NOT NULL,
    tool_calls      INTEGER NOT NULL,
    cost_micro_usd  INTEGER NOT NULL
);

CREATE TABLE agent_usage (
    agent           TEXT PRIMARY KEY NOT NULL,
    tokens_in       INTEGER NOT NULL,
    tokens_out      INTEGER NOT NULL,
    tool_calls      INTEGER NOT NULL,
    cost_micro_usd  INTEGER NOT NULL
);

CREATE TABLE agent_keys (
    key_id         TEXT PRIMARY KEY NOT NULL,
    agent          TEXT NOT NULL,
    environment    TEXT NOT NULL,
    hash           TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER,
    revoked_at     INTEGER,
    rotated_at     INTEGER,
    overlap_until  INTEGER,
    cidrs          TEXT NOT NULL
);
CREATE INDEX agent_keys_agent ON agent_keys (agent);

-- The audit log keeps its data as the exact JSON text that was hashed.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY NOT NULL,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    run_id     TEXT,
    data       TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

-- The last appended entry. Every append updates this single row first, which
-- serializes appenders and lets verification notice a truncated tail.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
