-- The count per status (SPEC "Filter and search": exact) from a small table
-- kept by triggers, instead of counting index ranges of a million users on
-- every dashboard view (122 ms at p99 at 1,000,000 users).
--
-- A user's status moves with the calendar, so the table cannot hold statuses:
-- it holds how many users share each (logged in or not, expiration date), per
-- organization. On day D, Expired is every bucket dated D or earlier; Active
-- and Hasn't Logged In are the others, by the flag.
--
-- Unlike SQLite's, this table is append-only: one row per bucket a statement
-- changed, +n or -n, summed when read. A row per bucket updated in place
-- would make every insert and first sign-in of an organization wait on the
-- same few rows (and deadlock when two transactions touch two buckets in
-- opposite orders). Readers fold an organization's rows into one per bucket
-- once they pile up (store.DB.CountByStatus).
CREATE TABLE user_status_counts (
    org_id          BIGINT  NOT NULL,
    logged_in       BOOLEAN NOT NULL,
    expiration_date DATE,
    n               BIGINT  NOT NULL
);
CREATE INDEX user_status_counts_org ON user_status_counts (org_id);

-- Statement-level triggers with transition tables: a statement changing
-- 100,000 users writes one grouped row per bucket, not 100,000. (PostgreSQL
-- allows no column list on such triggers, so every UPDATE of users runs
-- one; updates that change no bucket cancel out and write nothing.)
CREATE FUNCTION user_status_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_status_counts (org_id, logged_in, expiration_date, n)
    SELECT org_id, last_login_at IS NOT NULL, expiration_date, COUNT(*)
    FROM new_users GROUP BY 1, 2, 3;
    RETURN NULL;
END $$;

CREATE FUNCTION user_status_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_status_counts (org_id, logged_in, expiration_date, n)
    SELECT org_id, last_login_at IS NOT NULL, expiration_date, -COUNT(*)
    FROM old_users GROUP BY 1, 2, 3;
    RETURN NULL;
END $$;

CREATE FUNCTION user_status_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_status_counts (org_id, logged_in, expiration_date, n)
    SELECT org_id, logged_in, expiration_date, SUM(n)
    FROM (
        SELECT org_id, last_login_at IS NOT NULL AS logged_in, expiration_date, 1 AS n FROM new_users
        UNION ALL
        SELECT org_id, last_login_at IS NOT NULL, expiration_date, -1 FROM old_users
    ) AS moves
    GROUP BY 1, 2, 3
    HAVING SUM(n) <> 0;
    RETURN NULL;
END $$;

-- Writers to users wait until this migration commits (readers do not):
-- a user written between the backfill's snapshot and the triggers would be
-- counted by neither. (CREATE TRIGGER takes this lock too; saying it first
-- keeps it from depending on the order of the statements.)
LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE;

CREATE TRIGGER user_status_counts_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_users
    FOR EACH STATEMENT EXECUTE FUNCTION user_status_counts_insert();
-- Deleting an organization deletes its users through the foreign key, which
-- fires this trigger too: its rows then sum to zero, and a fold drops them.
CREATE TRIGGER user_status_counts_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_users
    FOR EACH STATEMENT EXECUTE FUNCTION user_status_counts_delete();
CREATE TRIGGER user_status_counts_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_users NEW TABLE AS new_users
    FOR EACH STATEMENT EXECUTE FUNCTION user_status_counts_update();

INSERT INTO user_status_counts (org_id, logged_in, expiration_date, n)
SELECT org_id, last_login_at IS NOT NULL, expiration_date, COUNT(*)
FROM users GROUP BY 1, 2, 3;
