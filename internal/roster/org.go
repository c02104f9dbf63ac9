package roster

import (
	"regexp"
	"strings"
	"time"
)

// Org is an organization: a tenant. Every other row belongs to exactly one.
type Org struct {
	ID             int64
	Name           string
	Slug           string
	UserManagement bool   // the operator setting made at onboarding (SPEC "Access")
	Locale         string // en-US (default) or en-GB: how dates are read in CSV files
	TimeZone       string // IANA name; "today" and so expiry are counted here
	SupportContact string // whom a refused admin should ask
	CreatedAt      time.Time
}

// Locales Roster knows how to read dates for.
var Locales = []string{"en-US", "en-GB"}

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// Location returns the org's time zone, UTC when it cannot be loaded.
func (o *Org) Location() *time.Location {
	loc, err := time.LoadLocation(o.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Today is the calendar date at now in the org's time zone.
func (o *Org) Today(now time.Time) Date { return DateOf(now.In(o.Location())) }

// Validate normalizes and checks the org's fields, reporting all problems.
func (o *Org) Validate() error {
	var v ValidationError
	o.Name = strings.TrimSpace(o.Name)
	o.Slug = strings.TrimSpace(o.Slug)
	if o.Name == "" {
		v.Add("name", "enter the organization's name")
	} else if len([]rune(o.Name)) > 200 {
		v.Add("name", "use at most 200 characters")
	}
	if !slugRE.MatchString(o.Slug) {
		v.Add("slug", "use 1 to 63 lowercase letters, digits and dashes, not starting or ending with a dash")
	}
	if o.Locale == "" {
		o.Locale = "en-US"
	}
	known := false
	for _, l := range Locales {
		if l == o.Locale {
			known = true
		}
	}
	if !known {
		v.Add("locale", "use one of en-US, en-GB")
	}
	if o.TimeZone == "" {
		o.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(o.TimeZone); err != nil || o.TimeZone == "Local" {
		v.Add("time_zone", "use an IANA time zone name such as UTC or Europe/Paris")
	}
	if len(o.SupportContact) > 500 {
		v.Add("support_contact", "use at most 500 characters")
	}
	return v.Err()
}
