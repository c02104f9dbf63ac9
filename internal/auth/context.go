package auth

import (
	"context"

	"github.com/roster-dev/roster/internal/roster"
)

type ctxKey int

const (
	actorKey ctxKey = iota
	authErrKey
)

// WithActor returns a context carrying the request's actor.
func WithActor(ctx context.Context, a *roster.Actor) context.Context {
	return context.WithValue(ctx, actorKey, a)
}

// ActorFrom returns the request's actor, or nil when nobody is signed in.
func ActorFrom(ctx context.Context) *roster.Actor {
	a, _ := ctx.Value(actorKey).(*roster.Actor)
	return a
}

// WithAuthError records why the credentials sent with a request were
// refused (an expired user's session, say), for the page to explain.
func WithAuthError(ctx context.Context, err error) context.Context {
	return context.WithValue(ctx, authErrKey, err)
}

// AuthErrorFrom returns the error recorded by WithAuthError, or nil.
func AuthErrorFrom(ctx context.Context) error {
	err, _ := ctx.Value(authErrKey).(error)
	return err
}
