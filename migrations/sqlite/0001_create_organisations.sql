-- Members of the registry.
CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    country     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    CONSTRAINT organisations_name_key UNIQUE (name)
);
