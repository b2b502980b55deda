-- agentsec store, schema 1 (PostgreSQL). Times are Unix milliseconds; ids are
-- UUIDs; JSON is JSONB (the audit log keeps exact text, see below).
CREATE TABLE runs (
    id            UUID PRIMARY KEY NOT NULL,
    agent         TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    tenant        TEXT,
    status        TEXT NOT NULL,
    state         JSONB NOT NULL,
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    step_count    BIGINT NOT NULL DEFAULT 0,
    lease_owner   TEXT,
    lease_until   BIGINT
);
CREATE INDEX runs_status_lease ON runs (status, lease_until);
CREATE INDEX runs_agent ON runs (agent, created_at);
CREATE INDEX runs_user ON runs (user_id, created_at);
CREATE INDEX runs_created ON runs (created_at);

CREATE TABLE steps (
    run_id  UUID NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    data    JSONB NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE approvals (
    id            UUID PRIMARY KEY NOT NULL,
    run_id        UUID NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    call_id       UUID NOT NULL,
    tool          TEXT NOT NULL,
    args_sha256   TEXT NOT NULL,
    status        TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    requested_at  BIGINT NOT NULL,
    decided_by    TEXT,
    reason        TEXT,
    edited_args   TEXT,
    expires_at    BIGINT NOT NULL,
    decided_at    BIGINT,
    signature     TEXT
);
CREATE INDEX approvals_run ON approvals (run_id);
CREATE INDEX approvals_status ON approvals (status, expires_at);

CREATE TABLE intents (
    run_id           UUID NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    call_id          UUID NOT NULL,
    idempotency_key  TEXT NOT NULL UNIQUE,
    approval_id      UUID,
    started_at       BIGINT NOT NULL,
    result           JSONB,
    finished_at      BIGINT,
    PRIMARY KEY (run_id, call_id)
);

CREATE TABLE run_usage (
    run_id          UUID PRIMARY KEY NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    tokens_in       BIGINT NOT NULL,
    tokens_out      BIGINT NOT NULL,
    tool_calls      BIGINT NOT NULL,
    cost_micro_usd  BIGINT NOT NULL
);

CREATE TABLE agent_usage (
    agent           TEXT PRIMARY KEY NOT NULL,
    tokens_in       BIGINT NOT NULL,
    tokens_out      BIGINT NOT NULL,
    tool_calls      BIGINT NOT NULL,
    cost_micro_usd  BIGINT NOT NULL
);

CREATE TABLE agent_keys (
    key_id         TEXT PRIMARY KEY NOT NULL,
    agent          TEXT NOT NULL,
    environment    TEXT NOT NULL,
    hash           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT,
    revoked_at     BIGINT,
    rotated_at     BIGINT,
    overlap_until  BIGINT,
    cidrs          JSONB NOT NULL
);
CREATE INDEX agent_keys_agent ON agent_keys (agent);

-- The audit log keeps its data as the exact JSON text that was hashed.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY NOT NULL,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    run_id     UUID,
    data       TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

-- The last appended entry. Every append updates this single row first, which
-- serializes appenders and lets verification notice a truncated tail.
CREATE TABLE audit_head (
    id    BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
