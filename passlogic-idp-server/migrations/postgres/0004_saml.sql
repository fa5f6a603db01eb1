-- SAML 2.0 identity provider state. Keep in step with ../sqlite/0004_saml.sql: the same
-- tables, columns and constraints; only types differ.

-- The IdP signing key (RSA-2048 private key PEM, its self-signed certificate and the secret of
-- pairwise persistent NameIDs, as JSON), sealed under the key-encryption key with associated
-- data passlogic:saml-signing-key:tenant:T; re-sealed by `keys rotate-kek`.
CREATE TABLE saml_signing_keys (
    tenant_id  BIGINT PRIMARY KEY REFERENCES tenants(id),
    sealed     BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Registered service providers: the core's ServiceProvider as JSON.
CREATE TABLE saml_service_providers (
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    entity_id  TEXT NOT NULL,
    settings   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, entity_id)
);

-- Validated AuthnRequests waiting for the sign-in to finish, under a random id (the resume
-- URL). Consumed once by DELETE ... RETURNING.
CREATE TABLE saml_pending_requests (
    id         TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
