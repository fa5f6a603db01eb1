-- Possession and biometric steps (issue #8). Keep in step with the other backend's
-- 0012_possession.sql. Login protect (crate::login_protect):
-- One-time pairing codes: only the SHA-256 (hex) of the code is stored; used once.
CREATE TABLE authenticator_pairings (
    code_hash  TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);

-- The paired authenticator's public key (one per user; pairing again replaces it).
-- key_id is the hex SHA-256 of the key's DER; unlocked_until closes the sign-in window.
CREATE TABLE authenticator_keys (
    user_id        BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    tenant_id      BIGINT NOT NULL REFERENCES tenants(id),
    key_id         TEXT NOT NULL UNIQUE,
    public_key     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    unlocked_until BIGINT NOT NULL DEFAULT 0
);

-- External face verifier (crate::face): one-time challenges of biometric steps, bound to the
-- sign-in attempt; stored as SHA-256 (hex), taken once by the verdict callback.
CREATE TABLE face_challenges (
    challenge_hash TEXT PRIMARY KEY,
    attempt_id     TEXT NOT NULL,
    expires_at     BIGINT NOT NULL
);

-- Private certificate authority (crate::ca): one per tenant. sealed_key is the CA's private
-- key (PKCS#8 DER) sealed under the KEK; crl_number counts the CRLs issued.
CREATE TABLE cert_authorities (
    tenant_id  BIGINT PRIMARY KEY REFERENCES tenants(id),
    cert_pem   TEXT NOT NULL,
    sealed_key BYTEA NOT NULL,
    next_serial BIGINT NOT NULL,
    crl_number BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- Client certificates issued by the CA (the private keys are never stored: they leave only
-- in the password-protected PKCS#12). serial is hex.
CREATE TABLE client_certs (
    serial     TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    not_after  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE INDEX client_certs_by_user ON client_certs (user_id);
