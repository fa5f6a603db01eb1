-- Client certificates as a sign-in step, and their distribution (crate::client_cert).
-- The one-time PKCS#12 password of a certificate handed out by e-mail or printed sheet, sealed
-- under the KEK until the sheet is printed (then cleared); never stored in plain text.
ALTER TABLE client_certs ADD COLUMN sealed_password BYTEA;

-- Automatic issue at first sign-in: the PKCS#12 waits here (sealed under the KEK) for its one
-- download; token_hash is the SHA-256 of the link's random token.
CREATE TABLE cert_downloads (
    token_hash TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    serial     TEXT NOT NULL,
    sealed_p12 BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
