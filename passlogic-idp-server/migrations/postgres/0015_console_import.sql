-- Console CSV import (web/console/import.rs). Keep in step with the other backend's
-- 0015_console_import.sql. An uploaded file waits here between its dry run and its apply, so
-- the file reviewed is the file applied and any node behind the load balancer can apply it.
-- id_hash is the SHA-256 (hex) of the random upload id the administrator's pages carry; the
-- row belongs to one administrator of one tenant, expires after an hour and is deleted when
-- applied. options is JSON (e.g. whether missing groups may be created).
CREATE TABLE import_uploads (
    id_hash    TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    admin_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    file_name  TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    options    TEXT NOT NULL,
    content    BYTEA NOT NULL
);

CREATE INDEX import_uploads_by_expiry ON import_uploads (expires_at);
