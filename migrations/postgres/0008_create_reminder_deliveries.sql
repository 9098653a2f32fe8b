-- One row per expiry reminder (a secret and a due point), claimed by the
-- server that sends it in the statement that creates or takes over the row,
-- so each reminder is sent once whatever the number of replicas. A row left
-- in 'sending' by a server that died is taken over once `claimed_until`
-- passes; a 'failed' one is retried by the next run.
CREATE TABLE reminder_deliveries (
    secret_id      TEXT NOT NULL REFERENCES client_secrets (id) ON DELETE CASCADE,
    due_at         BIGINT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'no_recipients')),
    attempts       BIGINT NOT NULL,
    claimed_by     TEXT NOT NULL,
    claimed_until  BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (secret_id, due_at)
);
