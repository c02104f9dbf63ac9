package roster

import (
	"net/url"
	"strconv"
	"strings"
)

// UserFilter selects and orders users for a listing, an export or a bulk
// action. The zero value lists everyone by email.
type UserFilter struct {
	Query      string // substring of name or email, case-insensitive
	Status     Status // "" for any
	Permission Permission
	// ExpiresFrom and ExpiresTo bound the expiration date, both inclusive;
	// a zero Date leaves that side open. Either one set leaves out users
	// without an expiration date.
	ExpiresFrom Date
	ExpiresTo   Date
	LastLogin   LastLoginFilter
	Sort        string // one of SortKeys; "" is email
	Desc        bool
	Limit       int
	Cursor      string
}

// LastLoginFilter selects users by their last login. Before and After are
// days in the organization's time zone and exclude that day itself: Before
// 2026-11-23 means a last login on the 22nd or earlier, After 2026-11-23 one
// on the 24th or later. Users who never logged in match only Never.
type LastLoginFilter struct {
	Never  bool
	Before Date
	After  Date
}

// IsZero reports whether the filter selects everyone.
func (l LastLoginFilter) IsZero() bool { return l == LastLoginFilter{} }

// String is the filter's URL form: never, before:YYYY-MM-DD, after:YYYY-MM-DD
// or both bounds joined by a comma; "" for none.
func (l LastLoginFilter) String() string {
	if l.Never {
		return "never"
	}
	var parts []string
	if !l.After.IsZero() {
		parts = append(parts, "after:"+l.After.String())
	}
	if !l.Before.IsZero() {
		parts = append(parts, "before:"+l.Before.String())
	}
	return strings.Join(parts, ",")
}

// ParseLastLogin reads the URL form of a LastLoginFilter (see String).
func ParseLastLogin(s string) (LastLoginFilter, error) {
	var l LastLoginFilter
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return l, nil
	}
	if s == "never" {
		l.Never = true
		return l, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		kind, day, _ := strings.Cut(strings.TrimSpace(part), ":")
		d, err := ParseDate(strings.TrimSpace(day))
		if err != nil || (kind != "before" && kind != "after") {
			return LastLoginFilter{}, errEmail("use never, before:YYYY-MM-DD or after:YYYY-MM-DD")
		}
		if kind == "before" {
			l.Before = d
		} else {
			l.After = d
		}
	}
	return l, nil
}

// SortKeys are the columns a user listing can be sorted by, in the API's
// spelling. Every one pages by keyset, ties broken by id.
var SortKeys = []string{"email", "name", "last_login_at", "last_invited_at", "expiration_date", "created_at"}

// sortAliases are older or shorter spellings of SortKeys.
var sortAliases = map[string]string{
	"created": "created_at", "last_login": "last_login_at", "last_invited": "last_invited_at",
	"expiration": "expiration_date", "expires": "expiration_date",
}

// ParseSort returns the sort key named by s (a SortKeys entry or an alias)
// and whether it is known. "" is email.
func ParseSort(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "email", true
	}
	if a, ok := sortAliases[s]; ok {
		return a, true
	}
	for _, k := range SortKeys {
		if k == s {
			return k, true
		}
	}
	return "", false
}

// MaxListLimit is the largest page a listing returns.
const MaxListLimit = 1000

// ParseUserFilter reads a filter from URL query parameters: q, status,
// permission, expires_from, expires_to, last_login, sort (a key, "-" in
// front for descending), limit and cursor. Every bad value is reported, by
// parameter name, in one *ValidationError.
func ParseUserFilter(q url.Values) (UserFilter, error) {
	f := UserFilter{Query: q.Get("q"), Cursor: q.Get("cursor")}
	var v ValidationError
	if s := q.Get("status"); s != "" {
		st, ok := ParseStatus(s)
		if !ok {
			v.Add("status", "use active, not_logged_in or expired")
		}
		f.Status = st
	}
	if p := q.Get("permission"); p != "" {
		perm, err := ParsePermission(p)
		if err != nil {
			v.Add("permission", err.Error())
		}
		f.Permission = perm
	}
	for _, b := range []struct {
		name string
		dst  *Date
	}{{"expires_from", &f.ExpiresFrom}, {"expires_to", &f.ExpiresTo}} {
		if s := strings.TrimSpace(q.Get(b.name)); s != "" {
			d, err := ParseDate(s)
			if err != nil {
				v.Add(b.name, err.Error())
			}
			*b.dst = d
		}
	}
	if !f.ExpiresFrom.IsZero() && !f.ExpiresTo.IsZero() && f.ExpiresTo.Before(f.ExpiresFrom) {
		v.Add("expires_to", "the end of the range is before its start")
	}
	if s := q.Get("last_login"); s != "" {
		l, err := ParseLastLogin(s)
		if err != nil {
			v.Add("last_login", err.Error())
		}
		f.LastLogin = l
	}
	if s := q.Get("sort"); s != "" {
		key, ok := ParseSort(strings.TrimPrefix(s, "-"))
		if !ok {
			v.Add("sort", "use one of "+strings.Join(SortKeys, ", ")+", with - in front for descending")
		}
		f.Sort, f.Desc = key, strings.HasPrefix(s, "-")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxListLimit {
			v.Add("limit", "use a whole number from 1 to 1000")
		}
		f.Limit = n
	}
	return f, v.Err()
}

// Values is the filter's URL form, as ParseUserFilter reads it; empty
// fields are left out, and so are limit and cursor.
func (f UserFilter) Values() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("q", f.Query)
	set("status", string(f.Status))
	if f.Permission != 0 {
		set("permission", f.Permission.Name())
	}
	set("expires_from", f.ExpiresFrom.String())
	set("expires_to", f.ExpiresTo.String())
	set("last_login", f.LastLogin.String())
	if f.Sort != "" && (f.Sort != "email" || f.Desc) {
		if f.Desc {
			set("sort", "-"+f.Sort)
		} else {
			set("sort", f.Sort)
		}
	}
	return q
}
