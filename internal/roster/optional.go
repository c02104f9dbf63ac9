package roster

// Optional is a field of a partial update: Set false leaves the stored value
// as it is; Set true replaces it with Value, even a blank one (the CSV rule
// "a blank cell clears, an absent column keeps" needs the difference).
type Optional[T any] struct {
	Value T
	Set   bool
}

// Some returns an Optional holding v.
func Some[T any](v T) Optional[T] { return Optional[T]{Value: v, Set: true} }

// Or returns the value when set and def otherwise.
func (o Optional[T]) Or(def T) T {
	if o.Set {
		return o.Value
	}
	return def
}
