-- People who sign in with password + TOTP.
CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    email            TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('admin', 'credential-manager')),
    organisation_id  TEXT REFERENCES organisations (id),
    password_hash    TEXT NOT NULL,
    totp_secret      TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE INDEX users_organisation_idx ON users (organisation_id);
