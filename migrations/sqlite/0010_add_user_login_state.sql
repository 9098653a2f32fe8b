-- Sign-in state: consecutive failures, the lock they set, and the last TOTP
-- time step accepted (a code is accepted once only).
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
