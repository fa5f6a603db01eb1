-- Registered browsers (the device-cookie step). Keep in step with the other backend's
-- 0009_devices.sql. id is a random public identifier shown to users and administrators;
-- token_hash is the SHA-256 (hex) of the long-lived random token in the pl_device cookie.
CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    tenant_id    BIGINT NOT NULL REFERENCES tenants(id),
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);

CREATE INDEX devices_by_user ON devices (user_id);
