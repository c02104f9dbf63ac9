-- Organizations, users, sign-in, API tokens, one-time links, audit log.
-- Times are TIMESTAMP (written in UTC by the driver); calendar dates are TEXT YYYY-MM-DD.
-- AUTOINCREMENT on orgs and users: SQLite would otherwise give a deleted
-- row's id to the next insert, and a queued job, an audit entry or a
-- bookmarked /users/{id} would then name someone else.
CREATE TABLE orgs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL,
    slug            TEXT    NOT NULL UNIQUE,
    user_management INTEGER NOT NULL DEFAULT 0,
    locale          TEXT    NOT NULL DEFAULT 'en-US',
    time_zone       TEXT    NOT NULL DEFAULT 'UTC',
    support_contact TEXT    NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id           INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email            TEXT    NOT NULL,
    first_name       TEXT    NOT NULL DEFAULT '',
    last_name        TEXT    NOT NULL DEFAULT '',
    permissions      INTEGER NOT NULL DEFAULT 0,
    expiration_date  TEXT,
    last_login_at    TIMESTAMP,
    last_invited_at  TIMESTAMP,
    invitation_count INTEGER NOT NULL DEFAULT 0,
    welcome_message  TEXT    NOT NULL DEFAULT '',
    password_hash    TEXT,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_org_email ON users (org_id, email);
-- Sign-in looks an address up across organizations.
CREATE INDEX users_email ON users (email);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- One-time links sent to a user: invitations, password resets, set-password links.
CREATE TABLE user_tokens (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL,
    token_hash BLOB    NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    -- set when a newer link to the same user voided this one
    replaced   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose);

-- The first-run link, before any organization exists.
CREATE TABLE setup_tokens (
    id         INTEGER PRIMARY KEY,
    token_hash BLOB    NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);

CREATE TABLE audit_events (
    id             INTEGER PRIMARY KEY,
    org_id         INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    actor_user_id  INTEGER,
    actor          TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    target_user_id INTEGER,
    target         TEXT    NOT NULL DEFAULT '',
    before_json    TEXT,
    after_json     TEXT,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (org_id, id);

-- Failed sign-in counters, shared by every instance (SPEC "Scale-out").
CREATE TABLE signin_throttle (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    window_start  TIMESTAMP NOT NULL,
    blocked_until TIMESTAMP
);

-- Browsers that signed in successfully: exempt from the per-account slow-down,
-- so an attacker guessing passwords cannot lock the real owner out.
CREATE TABLE known_devices (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    device_hash BLOB    NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX known_devices_user ON known_devices (user_id, device_hash);
