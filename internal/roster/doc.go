// Package roster is Roster's vocabulary and its pure rules: organizations,
// users, permissions, derived status, the acting user, and the domain errors.
//
// It imports nothing of ours and only the standard library, so every other
// package may depend on it and its rules are tested without a database.
package roster
