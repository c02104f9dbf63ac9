-- Search and sort a million-user roster (SPEC "Filter and search").
--
-- Substring search by any part of a name or email goes through a pg_trgm GIN
-- index on the lowercased email and names. Search terms shorter than 3
-- characters match the start of the email, first or last name instead,
-- through the text_pattern_ops indexes further down (LIKE 'ab%' whatever
-- the database's collation).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_search ON users USING gin (lower(email || ' ' || first_name || ' ' || last_name) gin_trgm_ops);
-- Finer statistics of the searched text (a sample of 1,000 values, not 100):
-- the listing asks the planner's estimate to tell a common term from a rare
-- one before collecting its matches.
ALTER INDEX users_search ALTER COLUMN 1 SET STATISTICS 1000;

-- Keyset pagination for every sortable column: (org_id, column, id), so a
-- page is a range scan that stops after the page, whatever the sort. The
-- email and name ones (the usual sorts) also hold the searched and filtered
-- columns: a common search walks them checking each entry (an index-only
-- scan), without reading the row.
-- users_org_id also holds the filtered columns: bulk actions and exports walk
-- a filtered set in id order (UserIDs) without reading rows.
CREATE INDEX users_org_id ON users (org_id, id) INCLUDE (expiration_date, last_login_at, permissions);
CREATE INDEX users_org_email_names ON users (org_id, email) INCLUDE (id, first_name, last_name, expiration_date, last_login_at, permissions);
CREATE INDEX users_org_name ON users (org_id, lower(first_name || ' ' || last_name), id) INCLUDE (email, first_name, last_name, expiration_date, last_login_at, permissions);
-- expiration_date too: the status filters read both, from the index alone.
CREATE INDEX users_org_last_login ON users (org_id, last_login_at, id) INCLUDE (expiration_date);
CREATE INDEX users_org_last_invited ON users (org_id, last_invited_at, id);
CREATE INDEX users_org_expiration ON users (org_id, expiration_date, id);
CREATE INDEX users_org_created ON users (org_id, created_at, id);
CREATE INDEX users_org_email_prefix ON users (org_id, email text_pattern_ops);
CREATE INDEX users_org_first_name ON users (org_id, lower(first_name) text_pattern_ops);
CREATE INDEX users_org_last_name ON users (org_id, lower(last_name) text_pattern_ops);

-- One partial index per permission, for the permission filter (a bit in a
-- mask, which no other index serves); queries name the bit literally so
-- that the planner can match them.
CREATE INDEX users_org_manage_users ON users (org_id, id) INCLUDE (permissions) WHERE (permissions & 1) <> 0;
CREATE INDEX users_org_view_analytics ON users (org_id, id) INCLUDE (permissions) WHERE (permissions & 2) <> 0;
CREATE INDEX users_org_manage_curations ON users (org_id, id) INCLUDE (permissions) WHERE (permissions & 4) <> 0;
CREATE INDEX users_org_manage_comments ON users (org_id, id) INCLUDE (permissions) WHERE (permissions & 8) <> 0;

-- The count per status (SPEC "Filter and search": exact), as ranges of small
-- indexes counted without reading a row: users who never logged in and those
-- who did, each by expiration date.
CREATE INDEX users_org_never_logged_in ON users (org_id, expiration_date) WHERE last_login_at IS NULL;
CREATE INDEX users_org_logged_in ON users (org_id, expiration_date) WHERE last_login_at IS NOT NULL;
