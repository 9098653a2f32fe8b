-- OAuth clients. `updated_at` also serves as the row that serialises changes
-- to an application's secrets (see create_secret).
CREATE TABLE applications (
    client_id        TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),
    kind             TEXT NOT NULL CHECK (kind IN ('partner', 'partner-alternative')),
    api              TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    CONSTRAINT applications_name_key UNIQUE (name)
);
CREATE INDEX applications_organisation_idx ON applications (organisation_id);

CREATE TABLE application_permissions (
    client_id    TEXT NOT NULL REFERENCES applications (client_id) ON DELETE CASCADE,
    resource_id  TEXT NOT NULL,
    PRIMARY KEY (client_id, resource_id)
);
