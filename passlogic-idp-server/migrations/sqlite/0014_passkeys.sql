-- Passkeys (WebAuthn credentials, the passkey step). Keep in step with the other backend's
-- 0014_passkeys.sql. id is a random public identifier shown to users and administrators;
-- credential_id is the authenticator's credential ID (Base64url), unique across the store so
-- a credential belongs to exactly one user. public_key is the COSE_Key as registered (public,
-- not sealed). sign_count, backup flags: see passlogic_idp_core::factor::webauthn.
CREATE TABLE passkeys (
    id              TEXT PRIMARY KEY,
    credential_id   TEXT NOT NULL UNIQUE,
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    user_id         BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    public_key      BLOB NOT NULL,
    alg             BIGINT NOT NULL,
    sign_count      BIGINT NOT NULL,
    backup_eligible BIGINT NOT NULL,
    backup_state    BIGINT NOT NULL,
    aaguid          TEXT NOT NULL,
    transports      TEXT NOT NULL,
    label           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT NOT NULL
);

CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- Issued WebAuthn challenges: single use (taken by DELETE ... RETURNING), bound to their
-- purpose ('register' for a signed-in user, 'login' for a sign-in attempt) and owner (user id
-- or attempt id), expiring. challenge_hash is the SHA-256 (hex) of the challenge.
CREATE TABLE passkey_challenges (
    challenge_hash TEXT PRIMARY KEY,
    purpose        TEXT NOT NULL,
    owner          TEXT NOT NULL,
    expires_at     BIGINT NOT NULL
);
