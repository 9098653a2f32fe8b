-- Every running `serve` process: where it listens, when it started, its
-- last heartbeat (the database's time, in milliseconds, so processes on
-- different hosts compare alike), the change-log sequence number up to
-- which it has applied every change, and the instant (unix seconds) until
-- which its cache trusts what it holds without another heartbeat. A change
-- to credentials is answered once every live replica's applied_seq has
-- reached it.
CREATE TABLE replicas (
    id              TEXT PRIMARY KEY,
    address         TEXT NOT NULL,
    started_at      BIGINT NOT NULL,
    heartbeat_ms    BIGINT NOT NULL,
    applied_seq     BIGINT NOT NULL,
    trusted_until   BIGINT NOT NULL
);
