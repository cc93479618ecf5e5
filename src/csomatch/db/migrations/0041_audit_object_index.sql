-- csomatch 0041: find a referral's audit events (who accessed it) without reading the log.
CREATE INDEX audit_event_object_idx ON audit_event (object_type, object_id, seq);
