-- Changes every running server must apply to its cache of verified secrets:
-- a secret deleted, an application's permissions replaced, an application
-- deleted. Written in the transaction that makes the change; servers read
-- the rows after the last one they saw, and prune rows older than a day.
CREATE TABLE credential_changes (
    seq         BIGSERIAL PRIMARY KEY,
    client_id   TEXT NOT NULL,
    changed_at  BIGINT NOT NULL
);
CREATE INDEX credential_changes_changed_idx ON credential_changes (changed_at);
