-- Agent keys: the version (compare-and-swap between processes) and the
-- successor of a rotated key get columns of their own; they used to live in
-- a JSON object in `cidrs`, which now holds only the array of networks.
ALTER TABLE agent_keys ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent_keys ADD COLUMN replaced_by TEXT;
UPDATE agent_keys
   SET version = COALESCE(json_extract(cidrs, '$.version'), 0),
       replaced_by = json_extract(cidrs, '$.replaced_by'),
       cidrs = COALESCE(json_extract(cidrs, '$.networks'), '[]')
 WHERE json_type(cidrs) = 'object';

-- Approvals: who decided, with the roles and tenant they decided with, so
-- the application's approval policy can be checked again when the decision
-- is applied (signed with the decision).
-- The roles as a JSON array of strings.
ALTER TABLE approvals ADD COLUMN decided_roles TEXT;
ALTER TABLE approvals ADD COLUMN decided_tenant TEXT;
