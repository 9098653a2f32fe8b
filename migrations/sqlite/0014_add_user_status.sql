-- Where a user is in their life: invited (created, not yet enrolled),
-- active, or disabled. Every user made before this was enrolled on
-- creation, so is active.
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('invited', 'active', 'disabled'));
