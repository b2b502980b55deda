-- agentsec example: orders and payments guarded by PostgreSQL row-level
-- security keyed on the scoped grant of each tool call.
--
-- `agentsec_runtime::permission::rls::RlsSession::begin` opens a transaction,
-- switches to the restricted role with SET LOCAL ROLE and stores the grant's
-- claims in `request.jwt.claims` (transaction-local) with their tag in
-- `agentsec.claims_tag`. The policies below read them back, and only when the
-- tag matches (the key is in `agentsec_rls_key`, which only the owner of these
-- objects can read), so a tool whose SQL forgets `WHERE owner_id = ...` still
-- sees only the rows of the user it acts for, SQL that writes claims of its
-- own sees nothing, and only the operations the declared effects allow run:
--
--   read:<table>   -> SELECT        write:<table>  -> INSERT, UPDATE
--   delete:<table> -> DELETE        no or bad claims, or a past exp -> nothing
--
-- Objects are created in the current schema (the first one of search_path),
-- by the role that will own them (never the login the tools connect as).
-- The restricted role is named by the setting `agentsec.tool_role` when it is
-- set (tests use it to get a role of their own), otherwise `agentsec_tool`.
-- The tools' pool connects as a login that is ONLY a member of it, and is
-- not a superuser, not BYPASSRLS, not CREATEROLE, and owns neither these
-- tables nor their schema (`RlsSession::begin` refuses any other):
--   CREATE ROLE app_tools LOGIN NOINHERIT;
--   GRANT agentsec_tool TO app_tools;
-- Then install the runtime's key (`RlsKey::install`, as the owner).
-- In production also take the database-wide TEMP privilege away from
-- PUBLIC, so no login can create temporary tables that shadow these:
--   REVOKE TEMPORARY ON DATABASE <db> FROM PUBLIC;

DO $$
DECLARE
    tool_role text := coalesce(nullif(current_setting('agentsec.tool_role', true), ''), 'agentsec_tool');
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = tool_role) THEN
        EXECUTE format(
            'CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS',
            tool_role);
    END IF;
END
$$;

CREATE TABLE orders (
    id          text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    owner_id    text NOT NULL,
    tenant_id   text NOT NULL,
    status      text NOT NULL DEFAULT 'open',
    total_cents bigint NOT NULL CHECK (total_cents >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments (
    id           text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    order_id     text NOT NULL REFERENCES orders (id),
    owner_id     text NOT NULL,
    tenant_id    text NOT NULL,
    amount_cents bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- The key the runtime tags claims with (`RlsKey`). No privilege for anyone
-- but the owner, and row-level security without a policy as a second lock:
-- only the owner (and the SECURITY DEFINER function below) reads it.
CREATE TABLE agentsec_rls_key (
    key bytea NOT NULL CHECK (length(key) = 32)
);
REVOKE ALL ON agentsec_rls_key FROM PUBLIC;
ALTER TABLE agentsec_rls_key ENABLE ROW LEVEL SECURITY;

-- The claims of the current grant, or NULL when there is none, when their
-- tag does not match the key, when the setting is not a JSON object, lacks
-- a subject or effects, or has expired. statement_timestamp() rather than
-- now(): now() is frozen at the start of the transaction, and a long
-- transaction must not outlive its grant. SECURITY DEFINER so it can read
-- the key; its search_path (set below) ends with pg_temp, so a temporary
-- table cannot stand in for the key's.
CREATE FUNCTION agentsec_grant() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    raw text := current_setting('request.jwt.claims', true);
    tag text := current_setting('agentsec.claims_tag', true);
    secret bytea;
    claims jsonb;
BEGIN
    IF raw IS NULL OR raw = '' OR tag IS NULL OR tag = '' THEN
        RETURN NULL;
    END IF;
    SELECT k.key INTO secret FROM agentsec_rls_key k LIMIT 1;
    IF secret IS NULL
       OR tag IS DISTINCT FROM encode(sha256(secret || sha256(convert_to(raw, 'UTF8'))), 'hex')
    THEN
        RETURN NULL;
    END IF;
    BEGIN
        claims := raw::jsonb;
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END;
    IF jsonb_typeof(claims) IS DISTINCT FROM 'object'
       OR jsonb_typeof(claims -> 'exp') IS DISTINCT FROM 'number'
       OR jsonb_typeof(claims -> 'sub') IS DISTINCT FROM 'string'
       OR jsonb_typeof(claims -> 'effects') IS DISTINCT FROM 'array'
       OR claims ->> 'sub' = ''
       OR (claims ->> 'exp')::numeric <= extract(epoch FROM statement_timestamp())
    THEN
        RETURN NULL;
    END IF;
    RETURN claims;
END
$$;

-- Whether the current grant declares `effect` (`read:orders`, ...).
CREATE FUNCTION agentsec_has_effect(effect text) RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT coalesce((SELECT claims -> 'effects' ? effect
                     FROM (SELECT agentsec_grant() AS claims) g), false)
$$;

-- Whether a row with this owner and tenant is inside the grant's scope:
-- user scope -> the user's own rows (in the user's tenant, when there is
-- one); tenant scope -> the tenant's rows; global -> any row; anything
-- else -> none.
CREATE FUNCTION agentsec_row_in_scope(row_owner text, row_tenant text) RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT coalesce((
        SELECT CASE claims ->> 'scope'
            WHEN 'user' THEN
                row_owner = claims ->> 'sub'
                AND (jsonb_typeof(claims -> 'tenant') IS DISTINCT FROM 'string'
                     OR row_tenant = claims ->> 'tenant')
            WHEN 'tenant' THEN
                jsonb_typeof(claims -> 'tenant') = 'string'
                AND row_tenant = claims ->> 'tenant'
            WHEN 'global' THEN true
            ELSE false
        END
        FROM (SELECT agentsec_grant() AS claims) g
    ), false)
$$;

ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders FORCE ROW LEVEL SECURITY;
ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments FORCE ROW LEVEL SECURITY;

-- One policy per operation, each requiring the matching effect. Policies are
-- permissive and there is none for an operation an effect does not name, so
-- whatever is not granted here is refused.
CREATE POLICY orders_select ON orders FOR SELECT
    USING (agentsec_has_effect('read:orders') AND agentsec_row_in_scope(owner_id, tenant_id));
CREATE POLICY orders_insert ON orders FOR INSERT
    WITH CHECK (agentsec_has_effect('write:orders') AND agentsec_row_in_scope(owner_id, tenant_id));
CREATE POLICY orders_update ON orders FOR UPDATE
    USING (agentsec_has_effect('write:orders') AND agentsec_row_in_scope(owner_id, tenant_id))
    WITH CHECK (agentsec_has_effect('write:orders') AND agentsec_row_in_scope(owner_id, tenant_id));
CREATE POLICY orders_delete ON orders FOR DELETE
    USING (agentsec_has_effect('delete:orders') AND agentsec_row_in_scope(owner_id, tenant_id));

CREATE POLICY payments_select ON payments FOR SELECT
    USING (agentsec_has_effect('read:payments') AND agentsec_row_in_scope(owner_id, tenant_id));
CREATE POLICY payments_insert ON payments FOR INSERT
    WITH CHECK (agentsec_has_effect('write:payments') AND agentsec_row_in_scope(owner_id, tenant_id));
CREATE POLICY payments_update ON payments FOR UPDATE
    USING (agentsec_has_effect('write:payments') AND agentsec_row_in_scope(owner_id, tenant_id))
    WITH CHECK (agentsec_has_effect('write:payments') AND agentsec_row_in_scope(owner_id, tenant_id));
-- Payments are never deleted: no DELETE policy, and no DELETE privilege below.

-- The helpers resolve agentsec_grant() in this schema whatever the caller's
-- search_path; the restricted role gets only what the example needs.
DO $$
DECLARE
    tool_role text := coalesce(nullif(current_setting('agentsec.tool_role', true), ''), 'agentsec_tool');
BEGIN
    EXECUTE format('ALTER FUNCTION agentsec_grant() SET search_path = %I, pg_catalog, pg_temp',
                   current_schema());
    EXECUTE format('ALTER FUNCTION agentsec_has_effect(text) SET search_path = %I, pg_catalog, pg_temp',
                   current_schema());
    EXECUTE format('ALTER FUNCTION agentsec_row_in_scope(text, text) SET search_path = %I, pg_catalog, pg_temp',
                   current_schema());
    EXECUTE 'REVOKE ALL ON FUNCTION agentsec_grant() FROM PUBLIC';
    EXECUTE format('GRANT EXECUTE ON FUNCTION agentsec_grant() TO %I', tool_role);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), tool_role);
    -- Nothing of its own: no objects in the schema, no temporary tables
    -- (TEMP also comes through PUBLIC; see the header). Privileges on the
    -- database live in one catalog row: setups running at once would fail
    -- with "tuple concurrently updated", so they take turns.
    PERFORM pg_advisory_xact_lock(hashtext('agentsec example rls setup'));
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM %I', current_schema(), tool_role);
    EXECUTE format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM %I', current_database(), tool_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON orders TO %I', tool_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON payments TO %I', tool_role);
END
$$;
