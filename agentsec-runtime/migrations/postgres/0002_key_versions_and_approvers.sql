-- Agent keys: the version (compare-and-swap between processes) and the
-- successor of a rotated key get columns of their own; they used to live in
-- a JSON object in `cidrs`, which now holds only the array of networks.
ALTER TABLE agent_keys ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_keys ADD COLUMN replaced_by TEXT;
UPDATE agent_keys
   SET version = COALESCE((cidrs ->> 'version')::BIGINT, 0),
       replaced_by = cidrs ->> 'replaced_by',
       cidrs = COALESCE(cidrs -> 'networks', '[]'::JSONB)
 WHERE jsonb_typeof(cidrs) = 'object';

-- Approvals: who decided, with the roles and tenant they decided with, so
-- the application's approval policy can be checked again when the decision
-- is applied (signed with the decision).
-- The roles as a JSON array of strings (text, as in SQLite).
ALTER TABLE approvals ADD COLUMN decided_roles TEXT;
ALTER TABLE approvals ADD COLUMN decided_tenant TEXT;
