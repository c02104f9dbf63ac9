package roster

import (
	"fmt"
	"strings"
)

// Permission is one of the four things a user may be allowed to do. A set of
// them is a Permissions bitmask, stored as one integer column.
type Permission uint8

// The four permissions (SPEC "Permissions"). Their bit values are stored in
// the database: never renumber them.
const (
	ManageUsers     Permission = 1 << 0
	ViewAnalytics   Permission = 1 << 1
	ManageCurations Permission = 1 << 2
	ManageComments  Permission = 1 << 3
)

// AllPermissions lists every permission in display order.
var AllPermissions = []Permission{ManageUsers, ViewAnalytics, ManageCurations, ManageComments}

// Name is the permission's API and CSV name, e.g. "manage_users".
func (p Permission) Name() string {
	switch p {
	case ManageUsers:
		return "manage_users"
	case ViewAnalytics:
		return "view_analytics"
	case ManageCurations:
		return "manage_curations"
	case ManageComments:
		return "manage_comments"
	}
	return fmt.Sprintf("permission(%d)", uint8(p))
}

// Label is the permission's name as the dashboard shows it.
func (p Permission) Label() string {
	switch p {
	case ManageUsers:
		return "Manage Users"
	case ViewAnalytics:
		return "View Analytics"
	case ManageCurations:
		return "Manage Curations"
	case ManageComments:
		return "Manage Comments"
	}
	return p.Name()
}

// ParsePermission accepts a permission's API name or its label, ignoring case,
// spaces, dashes and underscores ("Manage Users", "manage_users").
func ParsePermission(s string) (Permission, error) {
	key := foldName(s)
	for _, p := range AllPermissions {
		if key == foldName(p.Name()) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown permission %q; use one of %s", strings.TrimSpace(s), permissionNames())
}

func permissionNames() string {
	names := make([]string, len(AllPermissions))
	for i, p := range AllPermissions {
		names[i] = p.Name()
	}
	return strings.Join(names, ", ")
}

// foldName lowercases s and drops spaces, dashes and underscores.
func foldName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if r == ' ' || r == '-' || r == '_' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Permissions is a set of permissions.
type Permissions uint8

// AllPermissionsSet holds all four permissions, as an organization's first admin does.
const AllPermissionsSet = Permissions(ManageUsers | ViewAnalytics | ManageCurations | ManageComments)

// Has reports whether the set holds p.
func (ps Permissions) Has(p Permission) bool { return ps&Permissions(p) != 0 }

// With returns the set plus p.
func (ps Permissions) With(p Permission) Permissions { return ps | Permissions(p) }

// Without returns the set minus p.
func (ps Permissions) Without(p Permission) Permissions { return ps &^ Permissions(p) }

// Contains reports whether every permission of other is in ps.
func (ps Permissions) Contains(other Permissions) bool { return other&^ps == 0 }

// List returns the permissions in display order.
func (ps Permissions) List() []Permission {
	var out []Permission
	for _, p := range AllPermissions {
		if ps.Has(p) {
			out = append(out, p)
		}
	}
	return out
}

// Names returns the API names in display order; never nil, so JSON shows [].
func (ps Permissions) Names() []string {
	out := []string{}
	for _, p := range ps.List() {
		out = append(out, p.Name())
	}
	return out
}

// ParsePermissions parses names into a set; an unknown name is an error.
func ParsePermissions(names []string) (Permissions, error) {
	var ps Permissions
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			continue
		}
		p, err := ParsePermission(n)
		if err != nil {
			return 0, err
		}
		ps = ps.With(p)
	}
	return ps, nil
}
