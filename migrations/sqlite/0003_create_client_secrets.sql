-- Client secrets: only the argon2id PHC hash of the value is kept.
CREATE TABLE client_secrets (
    id            TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL REFERENCES applications (client_id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    hint          TEXT NOT NULL,
    hash          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    created_by    TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX client_secrets_client_idx ON client_secrets (client_id);
CREATE INDEX client_secrets_expires_idx ON client_secrets (expires_at);
