package roster

import (
	"fmt"
	"time"
)

// Actor is who performs an action: a signed-in user or an API token acting
// as one, always inside one organization.
type Actor struct {
	Org  *Org
	User *User
	// Via says how the actor authenticated: "session", "token" or "cli".
	Via string
}

// CanManageUsers checks the three conditions of SPEC "Access to User
// Management" on the day of now, returning an *AccessError saying why not.
func (a *Actor) CanManageUsers(now time.Time) error {
	contact := a.Org.SupportContact
	switch {
	case !a.Org.UserManagement:
		return &AccessError{Reason: fmt.Sprintf("User Management is not enabled for %s.", a.Org.Name), Contact: contact}
	case !a.User.Permissions.Has(ManageUsers):
		return &AccessError{Reason: "Your account does not have the Manage Users permission.", Contact: contact}
	case IsExpired(a.User.ExpirationDate, a.Org.Today(now)):
		return &AccessError{Reason: fmt.Sprintf("Your access expired on %s.", a.User.ExpirationDate), Contact: contact}
	}
	return nil
}
