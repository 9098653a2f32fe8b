-- Signing key metadata; the private keys are PEM files in the key directory.
-- The active key is the one with the highest activation_seq.
CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY,
    alg             TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    activated_at    BIGINT,
    activation_seq  BIGINT
);
