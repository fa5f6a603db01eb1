-- OpenID Connect additions: the Microsoft Entra ID external authentication method (EAM) and
-- private_key_jwt clients. Keep in step with ../postgres/0006_oidc_eam.sql: the same tables,
-- columns and constraints; only types differ.

-- How the provider is registered with Entra, one row per tenant: the core's EamConfig as JSON
-- (client id, Entra app id, allowed issuers, Entra's public keys). Nothing secret.
CREATE TABLE eam_config (
    tenant_id  BIGINT PRIMARY KEY REFERENCES tenants(id),
    config     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Accounts of other identity systems linked to our users: for Entra, the tenant id (tid) and
-- the user's object id (oid), as Microsoft advises for account linking.
CREATE TABLE external_identities (
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    provider   TEXT NOT NULL,
    issuer_key TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, provider, issuer_key, subject)
);
CREATE INDEX external_identities_user ON external_identities (user_id);

-- EAM requests waiting for the user's second factor (the core's EamRequest as JSON), under the
-- SHA-256 of the random handle in the sign-in's return URL. Deleted when answered (single use).
CREATE TABLE eam_pending (
    id         TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    data       TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Public keys (JWKS JSON) of private_key_jwt clients.
ALTER TABLE oidc_clients ADD COLUMN jwks TEXT;
