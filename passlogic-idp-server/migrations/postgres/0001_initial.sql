-- passlogic-idp initial schema (PostgreSQL). Keep in step with ../sqlite/0001_initial.sql:
-- the same tables, columns and constraints; only types differ.
-- Times are UNIX seconds (BIGINT). Flags are 0/1 integers (portable through sqlx::Any).
-- Secrets are only ever stored sealed (AES-256-GCM under the key-encryption key) or hashed.

CREATE TABLE tenants (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE policies (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name      TEXT NOT NULL,
    settings  TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE groups (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    policy_id BIGINT REFERENCES policies(id),
    priority  BIGINT NOT NULL DEFAULT 100,
    UNIQUE (tenant_id, name)
);

CREATE TABLE users (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id           BIGINT NOT NULL REFERENCES tenants(id),
    name                TEXT NOT NULL,
    display_name        TEXT NOT NULL,
    email               TEXT,
    enabled             BIGINT NOT NULL DEFAULT 1,
    is_admin            BIGINT NOT NULL DEFAULT 0,
    failed_attempts     BIGINT NOT NULL DEFAULT 0,
    locked_at           BIGINT,
    must_change_pattern BIGINT NOT NULL DEFAULT 1,
    matrix_secret       BYTEA,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE user_groups (
    user_id  BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);

-- A sign-in in progress. id is the SHA-256 (hex) of the random token in the pl_attempt cookie.
CREATE TABLE attempts (
    id         TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    user_id    BIGINT REFERENCES users(id) ON DELETE CASCADE,
    login_name TEXT NOT NULL,
    state      TEXT NOT NULL,
    return_to  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX attempts_expires ON attempts (expires_at);

-- The one live challenge (e.g. a grid) of an attempt. Answering deletes it atomically
-- (DELETE ... RETURNING), which is what makes a grid single use across server nodes.
CREATE TABLE challenges (
    attempt_id TEXT PRIMARY KEY REFERENCES attempts(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- id is the SHA-256 (hex) of the random token in the pl_session cookie.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    amr        TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Anything that may be used once (OTP time steps, authorization codes, request IDs):
-- the primary key makes the second insert fail on every node.
CREATE TABLE used_once (
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, key)
);

CREATE TABLE audit_events (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    tenant_id BIGINT,
    actor     TEXT NOT NULL,
    event     TEXT NOT NULL,
    subject   TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    source_ip TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
