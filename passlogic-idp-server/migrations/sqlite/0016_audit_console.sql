-- Admin console audit log (issue #7): newest first per tenant, keyset paging by id, optionally
-- filtered by actor or subject. Keep in step with the other backend's 0016_audit_console.sql.
CREATE INDEX audit_events_tenant_id ON audit_events (tenant_id, id);
CREATE INDEX audit_events_tenant_actor ON audit_events (tenant_id, actor, id);
CREATE INDEX audit_events_tenant_subject ON audit_events (tenant_id, subject, id);
