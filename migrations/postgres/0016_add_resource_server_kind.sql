-- Applications of kind 'resource-server': the registry's APIs, which ask the
-- introspection endpoint whether a token is active and obtain no tokens.
ALTER TABLE applications DROP CONSTRAINT applications_kind_check;
ALTER TABLE applications ADD CONSTRAINT applications_kind_check
    CHECK (kind IN ('partner', 'partner-alternative', 'resource-server'));
