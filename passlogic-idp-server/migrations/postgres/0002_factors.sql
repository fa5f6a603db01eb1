-- Multi-factor pipeline: per-attempt pipeline state, enrolled factors, hardware tokens.
-- Keep in step with ../sqlite/0002_factors.sql.

ALTER TABLE attempts ADD COLUMN pipeline TEXT;
-- Optimistic concurrency: a step is recorded only if nobody changed the attempt meanwhile.
ALTER TABLE attempts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- A user's enrolled factor: TOTP/bingo seeds sealed under the KEK, PINs as Argon2id hashes.
CREATE TABLE user_factors (
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    method     TEXT NOT NULL,
    secret     BYTEA,
    verifier   TEXT,
    params     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, method)
);

-- Imported OATH hardware tokens; seeds sealed under the KEK.
CREATE TABLE hardware_tokens (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    serial     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    secret     BYTEA NOT NULL,
    algorithm  TEXT NOT NULL,
    digits     BIGINT NOT NULL,
    period     BIGINT NOT NULL,
    counter    BIGINT NOT NULL,
    user_id    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, serial)
);
CREATE UNIQUE INDEX hardware_tokens_one_per_user ON hardware_tokens (user_id) WHERE user_id IS NOT NULL;
