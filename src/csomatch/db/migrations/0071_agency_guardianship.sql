-- The guardianship authority is a mark of the agency record (issue 13, item 3): an officer
-- whose token names such an agency may sign off a child's placement as the second person.
-- The older mark on the token itself (`api_token.guardianship_authority`, for tokens that
-- name no agency record) stays and still counts.
ALTER TABLE agency ADD COLUMN guardianship_authority boolean NOT NULL DEFAULT false;
