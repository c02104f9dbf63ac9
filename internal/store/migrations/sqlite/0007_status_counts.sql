-- The count per status (SPEC "Filter and search": exact) from a small table
-- kept by triggers, instead of counting index ranges of a million users on
-- every dashboard view (104 ms at p99 at 1,000,000 users).
--
-- A user's status moves with the calendar, so the table cannot hold statuses:
-- it holds how many users share each (logged in or not, expiration date), per
-- organization. On day D, Expired is every bucket dated D or earlier; Active
-- and Hasn't Logged In are the others, by the flag. An organization has two
-- buckets per distinct date, whatever its size (2,922 in the 1,000,000-user
-- demo roster), so CountByStatus reads all of them and classifies them.
--
-- "No expiration" is '' rather than NULL: NULLs are distinct in a SQLite
-- primary key, and the upserts below need one row per bucket. SQLite has one
-- writer at a time, so a row per bucket updated in place costs no contention.
-- A bucket that reaches 0 is deleted: dates pass and the table stays small.
CREATE TABLE user_status_counts (
    org_id          INTEGER NOT NULL,
    logged_in       INTEGER NOT NULL,
    expiration_date TEXT    NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (org_id, logged_in, expiration_date)
) WITHOUT ROWID;

-- Backfill from the users already there (a database may hold millions),
-- grouped as users_org_logged_in (0004) is ordered: a walk of that index,
-- without reading a row or sorting.
INSERT INTO user_status_counts (org_id, logged_in, expiration_date, n)
SELECT org_id, NOT (last_login_at IS NULL), coalesce(expiration_date, ''), COUNT(*)
FROM users INDEXED BY users_org_logged_in
GROUP BY org_id, last_login_at IS NULL, expiration_date;

-- That index served only the count per status: every insert and sign-in
-- stops paying for it. (The status filters name users_org_last_login or
-- users_org_expiration, and SQLite's planner was not seen to choose this
-- one for them on its own at 1,000,000 users. PostgreSQL's two partial
-- indexes stay: its planner counts filtered sets with them.)
DROP INDEX users_org_logged_in;

CREATE TRIGGER user_status_counts_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_status_counts (org_id, logged_in, expiration_date, n)
    VALUES (new.org_id, new.last_login_at IS NOT NULL, coalesce(new.expiration_date, ''), 1)
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

-- Deleting an organization deletes its users through the foreign key, which
-- fires this trigger too: its buckets go with them.
CREATE TRIGGER user_status_counts_delete AFTER DELETE ON users BEGIN
    UPDATE user_status_counts SET n = n - 1
    WHERE org_id = old.org_id AND logged_in = (old.last_login_at IS NOT NULL)
      AND expiration_date = coalesce(old.expiration_date, '');
    DELETE FROM user_status_counts
    WHERE org_id = old.org_id AND logged_in = (old.last_login_at IS NOT NULL)
      AND expiration_date = coalesce(old.expiration_date, '') AND n = 0;
END;

-- Only when the bucket changes: a second sign-in keeps logged_in, and
-- imports rewrite expiration_date with the value it had; neither should pay.
CREATE TRIGGER user_status_counts_update AFTER UPDATE OF org_id, last_login_at, expiration_date ON users
WHEN old.org_id IS NOT new.org_id
  OR (old.last_login_at IS NULL) IS NOT (new.last_login_at IS NULL)
  OR old.expiration_date IS NOT new.expiration_date
BEGIN
    UPDATE user_status_counts SET n = n - 1
    WHERE org_id = old.org_id AND logged_in = (old.last_login_at IS NOT NULL)
      AND expiration_date = coalesce(old.expiration_date, '');
    DELETE FROM user_status_counts
    WHERE org_id = old.org_id AND logged_in = (old.last_login_at IS NOT NULL)
      AND expiration_date = coalesce(old.expiration_date, '') AND n = 0;
    INSERT INTO user_status_counts (org_id, logged_in, expiration_date, n)
    VALUES (new.org_id, new.last_login_at IS NOT NULL, coalesce(new.expiration_date, ''), 1)
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
