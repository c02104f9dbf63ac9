-- The audit log's filters (issue 6, item 5): one index per filter, each ending
-- in id, so a filtered page walks its index backwards from the cursor and
-- reads about a page of rows, even in an organization whose bulk actions
-- wrote millions of events (one per user). audit_events_org (org_id, id)
-- still serves the unfiltered log. The actions index also lets the distinct
-- action names be found by one seek each (store.AuditActions).
CREATE INDEX audit_events_org_action ON audit_events (org_id, action, id);
CREATE INDEX audit_events_org_actor ON audit_events (org_id, actor_user_id, id);
CREATE INDEX audit_events_org_target ON audit_events (org_id, target, id);
CREATE INDEX audit_events_org_target_user ON audit_events (org_id, target_user_id, id);
CREATE INDEX audit_events_org_created ON audit_events (org_id, created_at, id);
