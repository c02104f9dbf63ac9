-- Search and sort a million-user roster (SPEC "Filter and search").
--
-- Substring search by any part of a name or email goes through an FTS5 table
-- with the trigram tokenizer (case folded, accents kept), holding a copy of
-- the three columns (external content: it reads users when it needs the
-- text) and kept in step by the triggers below. Search terms shorter than 3
-- characters match the start of the email, first or last name instead,
-- through the btree indexes further down.
CREATE VIRTUAL TABLE users_fts USING fts5(
    email, first_name, last_name,
    content = 'users', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO users_fts (users_fts) VALUES ('rebuild');

CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts (rowid, email, first_name, last_name)
    VALUES (new.id, new.email, new.first_name, new.last_name);
END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, email, first_name, last_name)
    VALUES ('delete', old.id, old.email, old.first_name, old.last_name);
END;
-- Only when a searched column really changes: bulk expire or grant touch
-- other columns and must not pay for the index.
CREATE TRIGGER users_fts_update AFTER UPDATE OF email, first_name, last_name ON users
WHEN old.email IS NOT new.email OR old.first_name IS NOT new.first_name OR old.last_name IS NOT new.last_name
BEGIN
    INSERT INTO users_fts (users_fts, rowid, email, first_name, last_name)
    VALUES ('delete', old.id, old.email, old.first_name, old.last_name);
    INSERT INTO users_fts (rowid, email, first_name, last_name)
    VALUES (new.id, new.email, new.first_name, new.last_name);
END;

-- Keyset pagination for every sortable column: (org_id, column, id), so a
-- page is a range scan that stops after the page, whatever the sort. The
-- email and name ones (the usual sorts) also hold the searched and filtered
-- columns: a common search walks them checking each entry, without reading
-- the row.
-- users_org_id also holds the filtered columns: bulk actions and exports walk
-- a filtered set in id order (UserIDs) without reading rows.
CREATE INDEX users_org_id ON users (org_id, id, expiration_date, last_login_at, permissions);
CREATE INDEX users_org_email_names ON users (org_id, email, first_name, last_name, expiration_date, last_login_at, permissions);
CREATE INDEX users_org_name ON users (org_id, lower(first_name || ' ' || last_name), id, email, first_name, last_name, expiration_date, last_login_at, permissions);
-- expiration_date too: the status filters read both, from the index alone.
CREATE INDEX users_org_last_login ON users (org_id, last_login_at, id, expiration_date);
CREATE INDEX users_org_last_invited ON users (org_id, last_invited_at, id);
CREATE INDEX users_org_expiration ON users (org_id, expiration_date, id);
CREATE INDEX users_org_created ON users (org_id, created_at, id);
-- Prefix search of short terms on names (the email has users_org_email).
CREATE INDEX users_org_first_name ON users (org_id, first_name);
CREATE INDEX users_org_last_name ON users (org_id, last_name);

-- One partial index per permission, for the permission filter (a bit in a
-- mask, which no other index serves); queries name the bit literally so
-- that the planner can match them.
CREATE INDEX users_org_manage_users ON users (org_id, id, permissions) WHERE (permissions & 1) <> 0;
CREATE INDEX users_org_view_analytics ON users (org_id, id, permissions) WHERE (permissions & 2) <> 0;
CREATE INDEX users_org_manage_curations ON users (org_id, id, permissions) WHERE (permissions & 4) <> 0;
CREATE INDEX users_org_manage_comments ON users (org_id, id, permissions) WHERE (permissions & 8) <> 0;

-- The count per status (SPEC "Filter and search": exact), as ranges of small
-- indexes counted without reading a row: users who never logged in and those
-- who did, each by expiration date.
-- (SQLite re-checks a partial index's condition on the row: the flag is a
-- column of the index instead.)
CREATE INDEX users_org_logged_in ON users (org_id, last_login_at IS NULL, expiration_date);
