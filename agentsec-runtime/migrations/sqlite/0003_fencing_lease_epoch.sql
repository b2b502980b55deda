-- Fencing: every time a run's lease is taken (a claim, a takeover after
-- expiry, a resume or a reconciliation) its epoch goes up by one. The holder
-- writes a call's intent, starts an irreversible call and records its result
-- only while the epoch it took the lease at is still the run's.
ALTER TABLE runs ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
