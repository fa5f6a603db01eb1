-- SCIM provisioning (issue #11). Keep in step with the other backend's 0011_scim.sql.
-- A group's SCIM externalId (the provisioning client's id for it, e.g. Entra's objectId).
ALTER TABLE groups ADD COLUMN external_id TEXT;
