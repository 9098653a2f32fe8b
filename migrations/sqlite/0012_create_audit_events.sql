-- The audit log: who did what, to what, when and from where. Never a
-- secret, password, code or token. `id` increases with each event.
CREATE TABLE audit_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at      BIGINT NOT NULL,
    actor            TEXT NOT NULL,
    actor_user_id    TEXT,
    organisation_id  TEXT,
    action           TEXT NOT NULL,
    target           TEXT,
    client_address   TEXT,
    outcome          TEXT NOT NULL
);
CREATE INDEX audit_events_organisation_idx ON audit_events (organisation_id, id);
