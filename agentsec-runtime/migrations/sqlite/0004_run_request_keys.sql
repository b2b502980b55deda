-- Idempotent start and submit: a run created for a client's request id
-- keeps the (agent-, tenant- and user-scoped) digest of that id, unique, so
-- the same request creates the run once and a retry finds it.
-- Runs made without a request id keep NULL (any number of them).
ALTER TABLE runs ADD COLUMN request_key TEXT;
CREATE UNIQUE INDEX runs_request_key ON runs (request_key);
