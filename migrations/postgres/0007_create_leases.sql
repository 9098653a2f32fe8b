-- Work that one server at a time must do (generating the first signing key,
-- sending reminders) is claimed here: a named lease held by one server until
-- it expires or is released. Claiming is one atomic upsert, so replicas need
-- no configuration saying which of them is special.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
