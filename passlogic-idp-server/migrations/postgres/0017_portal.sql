-- The user portal (docs/portal.md): how a service appears on the portal. A JSON object
-- {"display_name": ..., "login_url": ...} or NULL (the portal then shows the entity or client
-- ID, and an OIDC client without a login URL is not shown). Keep in step with the other
-- backend's 0017_portal.sql.
ALTER TABLE oidc_clients ADD COLUMN portal TEXT;
ALTER TABLE saml_service_providers ADD COLUMN portal TEXT;
