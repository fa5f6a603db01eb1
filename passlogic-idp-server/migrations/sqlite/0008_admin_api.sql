-- Admin REST API and access policy. Keep in step with the other backend's 0008_admin_api.sql:
-- the same tables, columns and constraints; only types differ.

-- API tokens of the admin listener. token_hash is the SHA-256 (hex) of the random bearer
-- token, which is shown once at creation and never stored. scopes: space-separated.
CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    UNIQUE (tenant_id, name)
);

-- The tenant's access policy: the core's policy::engine::AccessPolicy as JSON. No row: every
-- signed-in user may reach every service (the factor policy of their group still applies).
CREATE TABLE access_policies (
    tenant_id  BIGINT PRIMARY KEY REFERENCES tenants(id),
    settings   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
