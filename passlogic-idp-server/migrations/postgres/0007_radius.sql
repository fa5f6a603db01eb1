-- RADIUS server state and forward-authentication apps (issue 9). Keep in step with
-- ../sqlite/0007_radius.sql: the same tables, columns and constraints; only types differ.

-- Registered RADIUS clients (NAS: VPN gateways, firewalls, Wi-Fi controllers). A datagram is
-- served only when its source address is inside `address` (a CIDR). The shared secret must be
-- recoverable (it keys the HMAC-MD5 and MD5 of every packet), so it is sealed under the
-- key-encryption key with associated data passlogic:radius-client:tenant:T:name:N, and
-- re-sealed by `keys rotate-kek`.
CREATE TABLE radius_clients (
    tenant_id   BIGINT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    address     TEXT NOT NULL,
    sealed_secret BYTEA NOT NULL,
    require_message_authenticator BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- Access-Challenge State values waiting for the NAS's next Access-Request: SHA-256 of the random
-- State (never the State itself), the sign-in attempt it continues, and the client and user name
-- it was issued to. Consumed once by DELETE ... RETURNING.
CREATE TABLE radius_states (
    state_hash  TEXT PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants(id),
    attempt_id  TEXT NOT NULL,
    client_name TEXT NOT NULL,
    login_name  TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- Web apps protected by forward authentication (nginx auth_request, Traefik ForwardAuth, Caddy
-- forward_auth), one per host name. A policy may list the apps its users may open
-- (AuthPolicy.forward_auth_apps); a host that is not registered is refused to everyone.
CREATE TABLE forward_auth_apps (
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    host       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name),
    UNIQUE (tenant_id, host)
);
