-- Applications of kind 'resource-server': the registry's APIs, which ask the
-- introspection endpoint whether a token is active and obtain no tokens.
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt
-- (https://www.sqlite.org/lang_altertable.html#otheralter). The migrator runs
-- with foreign keys off, so dropping the old table leaves the secrets and
-- permissions that reference it by name untouched, and checks them after.
CREATE TABLE applications_new (
    client_id        TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),
    kind             TEXT NOT NULL CHECK (kind IN ('partner', 'partner-alternative', 'resource-server')),
    api              TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    CONSTRAINT applications_name_key UNIQUE (name)
);
INSERT INTO applications_new (client_id, name, organisation_id, kind, api, created_at, updated_at)
    SELECT client_id, name, organisation_id, kind, api, created_at, updated_at FROM applications;
DROP TABLE applications;
ALTER TABLE applications_new RENAME TO applications;
CREATE INDEX applications_organisation_idx ON applications (organisation_id);
