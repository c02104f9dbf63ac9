-- Bulk actions over many users run in the background (SPEC "Bulk actions on selected
-- users"; issue 6): a job walks its selection in user id order, a chunk per transaction,
-- and checkpoints the last id it handled in that transaction, so any instance can resume
-- it after a crash and no user is handled twice. The request is kept as JSON (the ticked
-- ids, or the filter as a query string); users created after the job started (ids above
-- max_user_id) are never part of it.
CREATE TABLE bulk_jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id        INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    actor_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    actor         TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    request       TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    total         INTEGER NOT NULL,
    processed     INTEGER NOT NULL DEFAULT 0,
    done          INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    skip_reasons  TEXT    NOT NULL DEFAULT '{}',
    cursor_id     INTEGER NOT NULL DEFAULT 0,
    max_user_id   INTEGER NOT NULL,
    failure       TEXT    NOT NULL DEFAULT '',
    lease_owner   TEXT,
    lease_until   TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP
);
CREATE INDEX bulk_jobs_org ON bulk_jobs (org_id, id);
CREATE INDEX bulk_jobs_state ON bulk_jobs (state);

-- The first skipped users of a job, with why (the result page lists them).
CREATE TABLE bulk_job_skips (
    job_id  INTEGER NOT NULL REFERENCES bulk_jobs(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    email   TEXT    NOT NULL,
    reason  TEXT    NOT NULL,
    PRIMARY KEY (job_id, user_id)
);
