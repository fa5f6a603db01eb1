-- OpenID Connect provider state. Keep in step with ../sqlite/0003_oidc.sql: the same tables,
-- columns and constraints; only types differ. Bearer values (codes, access and refresh tokens)
-- are stored only as SHA-256 lookup keys; private keys only sealed under the KEK.

-- The signing key set (the core's SigningKeySet as JSON, private keys included), sealed under
-- the key-encryption key with associated data passlogic:oidc-signing-keys:tenant:T.
-- version grows on every change (rotation), so nodes notice and reload.
CREATE TABLE oidc_signing_keys (
    tenant_id  BIGINT PRIMARY KEY REFERENCES tenants(id),
    sealed     BYTEA NOT NULL,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Registered relying parties. Lists are JSON arrays; the secret only as a PBKDF2 hash.
CREATE TABLE oidc_clients (
    tenant_id                 BIGINT NOT NULL REFERENCES tenants(id),
    client_id                 TEXT NOT NULL,
    is_public                 BIGINT NOT NULL,
    secret_hash               TEXT,
    auth_method               TEXT NOT NULL,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    allowed_scopes            TEXT NOT NULL,
    grant_types               TEXT NOT NULL,
    response_types            TEXT NOT NULL,
    created_at                BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);

-- Authorization codes (the core's CodeGrant as JSON) under the code's lookup key. Redemption
-- is a compare-and-set on redeemed (0 -> 1), so two nodes cannot both redeem one code; the row
-- outlives the code (purge_at) so that a replay is recognised and revokes what was issued.
CREATE TABLE oidc_codes (
    code_hash  TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    grant_id   TEXT NOT NULL,
    data       TEXT NOT NULL,
    redeemed   BIGINT NOT NULL DEFAULT 0,
    revoked    BIGINT NOT NULL DEFAULT 0,
    purge_at   BIGINT NOT NULL
);
CREATE INDEX oidc_codes_grant ON oidc_codes (grant_id);

-- Refresh-token families (the core's RefreshFamily as JSON). Rotation is a compare-and-set on
-- generation; a replayed older generation sets revoked.
CREATE TABLE oidc_refresh_families (
    id         TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    client_id  TEXT NOT NULL,
    generation BIGINT NOT NULL,
    revoked    BIGINT NOT NULL DEFAULT 0,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Opaque access tokens (the core's AccessTokenGrant as JSON) under their lookup key.
CREATE TABLE oidc_access_tokens (
    token_hash TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    client_id  TEXT NOT NULL,
    grant_id   TEXT,
    data       TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_access_tokens_grant ON oidc_access_tokens (grant_id);
