-- Login protect (crate::login_protect). Keep in step with the other backend's
-- 0012_login_protect.sql.
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
