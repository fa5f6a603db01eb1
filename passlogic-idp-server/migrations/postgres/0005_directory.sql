-- Directory attributes of users (SAML NameID / attribute sources, later the admin API). Keep in
-- step with the other backend's 0005_directory.sql: the same tables and columns.
-- attributes is a JSON object of string to string: external IDs (immutable_id, upn,
-- federation_id) and custom attributes. valid_from / valid_until are UNIX seconds.

ALTER TABLE users ADD COLUMN given_name TEXT;
ALTER TABLE users ADD COLUMN family_name TEXT;
ALTER TABLE users ADD COLUMN department TEXT;
ALTER TABLE users ADD COLUMN position TEXT;
ALTER TABLE users ADD COLUMN valid_from BIGINT;
ALTER TABLE users ADD COLUMN valid_until BIGINT;
ALTER TABLE users ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';

-- SAML single logout (migration numbers are per feature branch, so the SAML session tables
-- live here too). One row per SP that received an assertion in a session: what its
-- LogoutRequest must name. session_id is sessions.id (the SHA-256 of the cookie token); the
-- rows outlive the session row on purpose, until the logout that reads them deletes them.
CREATE TABLE saml_session_sps (
    session_id     TEXT NOT NULL,
    tenant_id      BIGINT NOT NULL REFERENCES tenants(id),
    entity_id      TEXT NOT NULL,
    name_id        TEXT NOT NULL,
    name_id_format TEXT NOT NULL,
    session_index  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    PRIMARY KEY (session_id, entity_id)
);
CREATE INDEX saml_session_sps_expires ON saml_session_sps (expires_at);

-- A front-channel logout in progress (the SPs still to visit, the initiator to answer), as
-- JSON under a random id; consumed step by step.
CREATE TABLE saml_logouts (
    id         TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
