-- LDAP / Active Directory sync (issue 11). Keep in step with the other backend's 0010_ldap.sql:
-- the same tables, columns and constraints; only types differ.

-- A directory the tenant's users are synced from. sealed_password is the bind password sealed
-- under the KEK (associated data names the source id; re-sealed by `keys rotate-kek`).
-- attribute_map: JSON object, our field -> LDAP attribute (see crate::ldap::mapping).
-- tls_ca: PEM of the CA that signed the server's certificate (NULL: the system trust store).
-- missing: what happens to a synced user no longer in the directory: 'disable' or 'delete'.
CREATE TABLE ldap_sources (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        BIGINT NOT NULL REFERENCES tenants(id),
    name             TEXT NOT NULL,
    url              TEXT NOT NULL,
    start_tls        BIGINT NOT NULL DEFAULT 0,
    tls_ca           TEXT,
    bind_dn          TEXT NOT NULL,
    sealed_password  BYTEA NOT NULL,
    base_dn          TEXT NOT NULL,
    filter           TEXT NOT NULL,
    attribute_map    TEXT NOT NULL,
    group_attr       TEXT,
    active_directory BIGINT NOT NULL DEFAULT 0,
    missing          TEXT NOT NULL DEFAULT 'disable',
    page_size        BIGINT NOT NULL DEFAULT 500,
    created_at       BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- Which users a source owns (only these are updated, disabled or deleted by its sync), with
-- the entry's DN and the groups the source put the user in (JSON array; only these memberships
-- are removed by a later sync, never ones added by hand).
CREATE TABLE ldap_links (
    user_id   BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    source_id BIGINT NOT NULL REFERENCES ldap_sources(id) ON DELETE CASCADE,
    dn        TEXT NOT NULL,
    groups    TEXT NOT NULL DEFAULT '[]',
    synced_at BIGINT NOT NULL
);
CREATE INDEX ldap_links_source ON ldap_links (source_id);

-- One row per sync run (dry or not): counts and the report (JSON).
CREATE TABLE ldap_sync_runs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id   BIGINT NOT NULL REFERENCES ldap_sources(id) ON DELETE CASCADE,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    dry_run     BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    created     BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    disabled    BIGINT NOT NULL,
    deleted     BIGINT NOT NULL,
    unchanged   BIGINT NOT NULL,
    skipped     BIGINT NOT NULL,
    report      TEXT NOT NULL
);

-- A lease per source, so that of several nodes (or a node and the CLI) only one syncs a source
-- at a time: taken by an upsert that only succeeds when the lease is free or expired.
CREATE TABLE ldap_sync_leases (
    source_id  BIGINT PRIMARY KEY REFERENCES ldap_sources(id) ON DELETE CASCADE,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
