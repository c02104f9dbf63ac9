-- CSV imports (SPEC "Bulk Upload"). The uploaded file itself is kept, in chunks, so that
-- any instance can apply it and a restart can resume it; applying checkpoints one batch
-- of rows per transaction (import_batches), with that batch's lines of the report.
CREATE TABLE imports (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id             INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    actor_user_id      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    actor              TEXT    NOT NULL,
    file_name          TEXT    NOT NULL DEFAULT '',
    size_bytes         INTEGER NOT NULL DEFAULT 0,
    welcome_message    TEXT,
    default_expiration TEXT,
    state              TEXT    NOT NULL,
    rows_total         INTEGER NOT NULL DEFAULT 0,
    processed          INTEGER NOT NULL DEFAULT 0,
    last_row           INTEGER NOT NULL DEFAULT 1,
    batches            INTEGER NOT NULL DEFAULT 0,
    will_create        INTEGER NOT NULL DEFAULT 0,
    will_update        INTEGER NOT NULL DEFAULT 0,
    will_fail          INTEGER NOT NULL DEFAULT 0,
    created            INTEGER NOT NULL DEFAULT 0,
    updated            INTEGER NOT NULL DEFAULT 0,
    invited            INTEGER NOT NULL DEFAULT 0,
    errors             INTEGER NOT NULL DEFAULT 0,
    unknown_columns    TEXT    NOT NULL DEFAULT '',
    failure            TEXT    NOT NULL DEFAULT '',
    lease_owner        TEXT,
    lease_until        TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    finished_at        TIMESTAMP
);
CREATE INDEX imports_org ON imports (org_id, id);
CREATE INDEX imports_state ON imports (state);

CREATE TABLE import_chunks (
    import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (import_id, seq)
);

-- Row problems and planned changes shown by the preview (phase 'preview') and row
-- problems met while applying (phase 'apply'); the first few thousand of each.
CREATE TABLE import_issues (
    import_id   INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    phase       TEXT    NOT NULL,
    row_num     INTEGER NOT NULL,
    column_name TEXT    NOT NULL,
    message     TEXT    NOT NULL
);
CREATE INDEX import_issues_row ON import_issues (import_id, phase, row_num);

CREATE TABLE import_changes (
    import_id   INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    row_num     INTEGER NOT NULL,
    email       TEXT    NOT NULL,
    before_json TEXT    NOT NULL,
    after_json  TEXT    NOT NULL,
    PRIMARY KEY (import_id, row_num)
);

CREATE TABLE import_batches (
    import_id  INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    last_row   INTEGER NOT NULL,
    report_csv TEXT    NOT NULL,
    PRIMARY KEY (import_id, seq)
);
