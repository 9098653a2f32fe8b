-- Who acted is typed, never a bare string: a kind ('user', 'anonymous',
-- 'cli' or 'system'), the user's id for a user, and the email at the time
-- for a user or a stranger (the `actor` and `created_by` columns, which for
-- the command line and Tessera itself hold 'cli' and 'system').
ALTER TABLE audit_events ADD COLUMN actor_kind TEXT NOT NULL DEFAULT 'anonymous';
UPDATE audit_events SET actor_kind = CASE
    WHEN actor_user_id IS NOT NULL THEN 'user'
    WHEN actor = 'cli' THEN 'cli'
    WHEN actor = 'system' THEN 'system'
    ELSE 'anonymous'
END;

-- A secret's creator, typed the same way. Secrets made before this kept
-- only a label: a user's email (matched to the user it belongs to), 'cli',
-- or another word written by Tessera itself (the demo).
ALTER TABLE client_secrets ADD COLUMN created_by_kind TEXT NOT NULL DEFAULT 'system';
ALTER TABLE client_secrets ADD COLUMN created_by_user_id TEXT;
UPDATE client_secrets SET created_by_user_id =
    (SELECT users.id FROM users WHERE users.email = client_secrets.created_by);
UPDATE client_secrets SET created_by_kind = CASE
    WHEN created_by_user_id IS NOT NULL THEN 'user'
    WHEN created_by = 'cli' THEN 'cli'
    ELSE 'system'
END;
UPDATE client_secrets SET created_by = created_by_kind WHERE created_by_kind <> 'user';
