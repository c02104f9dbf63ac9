package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/roster"
)

const userColumns = `id, org_id, email, first_name, last_name, permissions, expiration_date,
	last_login_at, last_invited_at, invitation_count, welcome_message, password_hash IS NOT NULL, created_at, updated_at,
	delivery_status, delivery_detail, delivery_updated_at`

// userDest returns the scan destinations for userColumns; perms receives
// the permission bits, to be copied into u after the scan.
func userDest(u *roster.User, perms *int64) []any {
	return []any{&u.ID, &u.OrgID, &u.Email, &u.FirstName, &u.LastName, perms, dateCol{&u.ExpirationDate},
		timeCol{&u.LastLoginAt}, timeCol{&u.LastInvitedAt}, &u.InvitationCount, &u.WelcomeMessage, &u.HasPassword,
		timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}, &u.DeliveryStatus, &u.DeliveryDetail, timeCol{&u.DeliveryUpdatedAt}}
}

func orgDest(o *roster.Org) []any {
	return []any{&o.ID, &o.Name, &o.Slug, &o.UserManagement, &o.Locale, &o.TimeZone, &o.SupportContact, timeCol{&o.CreatedAt}}
}

// dateCol scans a calendar date from TEXT (SQLite) or DATE (PostgreSQL).
type dateCol struct{ d *roster.Date }

func (c dateCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.d = roster.Date{}
	case time.Time:
		*c.d = roster.DateOf(v.UTC())
	case string:
		return c.parse(v)
	case []byte:
		return c.parse(string(v))
	default:
		return fmt.Errorf("store: cannot scan %T into a date", src)
	}
	return nil
}

func (c dateCol) parse(s string) error {
	if len(s) > 10 {
		s = s[:10]
	}
	d, err := roster.ParseDate(s)
	if err != nil {
		return err
	}
	*c.d = d
	return nil
}

// dateArg stores the zero Date as NULL and others as YYYY-MM-DD, which
// SQLite keeps as TEXT and PostgreSQL parses as DATE.
func dateArg(d roster.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	var nt sql.NullTime
	if err := nt.Scan(src); err != nil {
		return err
	}
	if nt.Valid {
		*c.t = nt.Time.UTC()
	} else {
		*c.t = time.Time{}
	}
	return nil
}

func scanUser(row interface{ Scan(...any) error }) (*roster.User, error) {
	var u roster.User
	var perms int64
	if err := row.Scan(userDest(&u, &perms)...); err != nil {
		return nil, mapErr(err)
	}
	u.Permissions = roster.Permissions(perms)
	return &u, nil
}

// CreateUser inserts u (its Email already normalized) and sets its ID and
// times. An email taken in the organization is roster.ErrConflict.
func (tx *Tx) CreateUser(ctx context.Context, u *roster.User, now time.Time) error {
	u.CreatedAt, u.UpdatedAt = utc(now), utc(now)
	err := tx.ex.QueryRowContext(ctx,
		`INSERT INTO users (org_id, email, first_name, last_name, permissions, expiration_date, welcome_message, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
		u.OrgID, u.Email, u.FirstName, u.LastName, int64(u.Permissions), dateArg(u.ExpirationDate), u.WelcomeMessage, u.CreatedAt).Scan(&u.ID)
	if err != nil {
		return fmt.Errorf("store: create user in org %d: %w", u.OrgID, mapErr(err))
	}
	return nil
}

// UpdateUser saves u's names, permissions, expiration date and welcome message.
func (tx *Tx) UpdateUser(ctx context.Context, u *roster.User, now time.Time) error {
	u.UpdatedAt = utc(now)
	res, err := tx.ex.ExecContext(ctx,
		`UPDATE users SET first_name = $3, last_name = $4, permissions = $5, expiration_date = $6, welcome_message = $7, updated_at = $8
		 WHERE org_id = $1 AND id = $2`,
		u.OrgID, u.ID, u.FirstName, u.LastName, int64(u.Permissions), dateArg(u.ExpirationDate), u.WelcomeMessage, u.UpdatedAt)
	if err != nil {
		return fmt.Errorf("store: update user %d in org %d: %w", u.ID, u.OrgID, mapErr(err))
	}
	return mustAffect(res, "store: update user")
}

// SetPassword stores a password hash for the user.
func (tx *Tx) SetPassword(ctx context.Context, orgID, userID int64, hash string, now time.Time) error {
	res, err := tx.ex.ExecContext(ctx, "UPDATE users SET password_hash = $3, updated_at = $4 WHERE org_id = $1 AND id = $2",
		orgID, userID, hash, utc(now))
	if err != nil {
		return fmt.Errorf("store: set password of user %d: %w", userID, err)
	}
	return mustAffect(res, "store: set password")
}

// RecordLogin sets the user's last login time.
func (tx *Tx) RecordLogin(ctx context.Context, orgID, userID int64, at time.Time) error {
	res, err := tx.ex.ExecContext(ctx, "UPDATE users SET last_login_at = $3 WHERE org_id = $1 AND id = $2", orgID, userID, utc(at))
	if err != nil {
		return fmt.Errorf("store: record login of user %d: %w", userID, err)
	}
	return mustAffect(res, "store: record login")
}

// DeleteUser removes the user's account; its sessions, API tokens and links
// go with it (ON DELETE CASCADE).
func (tx *Tx) DeleteUser(ctx context.Context, orgID, userID int64) error {
	res, err := tx.ex.ExecContext(ctx, "DELETE FROM users WHERE org_id = $1 AND id = $2", orgID, userID)
	if err != nil {
		return fmt.Errorf("store: delete user %d: %w", userID, err)
	}
	return mustAffect(res, "store: delete user")
}

// UserByID finds a user of the organization. Another organization's user is
// roster.ErrNotFound, exactly like a missing one.
func (q *q) UserByID(ctx context.Context, orgID, id int64) (*roster.User, error) {
	u, err := scanUser(q.ex.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE org_id = $1 AND id = $2", orgID, id))
	if err != nil {
		return nil, fmt.Errorf("store: user %d in org %d: %w", id, orgID, err)
	}
	return u, nil
}

// UserByEmail finds a user of the organization by normalized email.
func (q *q) UserByEmail(ctx context.Context, orgID int64, email string) (*roster.User, error) {
	u, err := scanUser(q.ex.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE org_id = $1 AND email = $2", orgID, email))
	if err != nil {
		return nil, fmt.Errorf("store: user by email in org %d: %w", orgID, err)
	}
	return u, nil
}

// Credential is what sign-in needs of one account with a given email.
type Credential struct {
	User         *roster.User
	Org          *roster.Org
	PasswordHash string
}

// CredentialsByEmail returns, across organizations, up to limit accounts
// with the email that have a password: sign-in happens before we know the
// organization.
func (q *q) CredentialsByEmail(ctx context.Context, email string, limit int) ([]Credential, error) {
	return q.accountsByEmail(ctx, email, limit, " AND u.password_hash IS NOT NULL")
}

// AccountsByEmail returns, across organizations, up to limit accounts with
// the email, with a password or not (a password reset needs them all).
func (q *q) AccountsByEmail(ctx context.Context, email string, limit int) ([]Credential, error) {
	return q.accountsByEmail(ctx, email, limit, "")
}

func (q *q) accountsByEmail(ctx context.Context, email string, limit int, cond string) ([]Credential, error) {
	rows, err := q.ex.QueryContext(ctx,
		"SELECT COALESCE(password_hash, ''), "+prefixed("u.", userColumns)+", "+prefixed("o.", orgColumns)+
			" FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.email = $1"+cond+" ORDER BY o.slug LIMIT $2",
		email, limit)
	if err != nil {
		return nil, fmt.Errorf("store: credentials by email: %w", err)
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		var c Credential
		var u roster.User
		var o roster.Org
		var perms int64
		dest := append(append([]any{&c.PasswordHash}, userDest(&u, &perms)...), orgDest(&o)...)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: credentials by email: %w", err)
		}
		u.Permissions = roster.Permissions(perms)
		c.User, c.Org = &u, &o
		out = append(out, c)
	}
	return out, rows.Err()
}

// prefixed qualifies each column of a column list with p ("u.").
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		c = strings.TrimSpace(c)
		parts[i] = p + c
	}
	return strings.Join(parts, ", ")
}

// CountActiveAdmins counts the organization's users holding manage_users
// whose access has not expired on today, leaving out the users in except.
func (q *q) CountActiveAdmins(ctx context.Context, orgID int64, today roster.Date, except ...int64) (int, error) {
	query := "SELECT COUNT(*) FROM users WHERE org_id = $1 AND (permissions & $2) <> 0 AND (expiration_date IS NULL OR expiration_date > $3)"
	args := []any{orgID, int64(roster.ManageUsers), today.String()}
	if len(except) > 0 {
		ph := make([]string, len(except))
		for i, id := range except {
			args = append(args, id)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		query += " AND id NOT IN (" + strings.Join(ph, ", ") + ")"
	}
	var n int
	if err := q.ex.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count admins of org %d: %w", orgID, err)
	}
	return n, nil
}

// FirstAdmin returns the organization's earliest-created user holding
// manage_users whose access has not expired on today: who an API token acts
// as when no user is named.
func (q *q) FirstAdmin(ctx context.Context, orgID int64, today roster.Date) (*roster.User, error) {
	u, err := scanUser(q.ex.QueryRowContext(ctx,
		"SELECT "+userColumns+" FROM users WHERE org_id = $1 AND (permissions & $2) <> 0 AND (expiration_date IS NULL OR expiration_date > $3) ORDER BY id LIMIT 1",
		orgID, int64(roster.ManageUsers), today.String()))
	if err != nil {
		return nil, fmt.Errorf("store: first admin of org %d: %w", orgID, err)
	}
	return u, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// where builds a WHERE clause from conditions written with ? placeholders,
// numbering them $1, $2… for both dialects.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	var b strings.Builder
	for _, r := range cond {
		if r == '?' {
			w.args = append(w.args, args[0])
			args = args[1:]
			fmt.Fprintf(&b, "$%d", len(w.args))
			continue
		}
		b.WriteRune(r)
	}
	w.conds = append(w.conds, b.String())
}

// bind numbers the ? placeholders of a fragment (a subquery) after the
// arguments already held, and holds its arguments, without adding a
// condition.
func (w *where) bind(frag string, args ...any) string {
	var b strings.Builder
	for _, r := range frag {
		if r == '?' {
			w.args = append(w.args, args[0])
			args = args[1:]
			fmt.Fprintf(&b, "$%d", len(w.args))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (w *where) sql() (string, []any) {
	return strings.Join(w.conds, " AND "), append([]any(nil), w.args...)
}
