package roster

// UserFilter selects and orders users for a listing, an export or a bulk
// action. The zero value lists everyone by email.
type UserFilter struct {
	Query      string // substring of name or email, case-insensitive
	Status     Status // "" for any
	Permission Permission
	Sort       string // email (default), created
	Desc       bool
	Limit      int
	Cursor     string
}
