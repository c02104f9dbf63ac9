package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

func testBatchInvite(t *testing.T, db *store.DB) {
	acme, other := MakeOrg(t, db, "acme"), MakeOrg(t, db, "other")
	old := MakeUser(t, db, acme, "old@acme.example", roster.Permissions(roster.ManageUsers))
	MakeUser(t, db, other, "new0@acme.example", 0) // same email, another org

	var created []*roster.User
	for i := range 3 {
		u := &roster.User{Email: fmt.Sprintf("new%d@acme.example", i), FirstName: "Émile", LastName: fmt.Sprint(i)}
		if i == 1 {
			u.ExpirationDate = roster.Date{Year: 2030, Month: 1, Day: 31}
		}
		created = append(created, u)
	}
	var found map[string]*roster.User
	err := tx(t, db, func(ctx context.Context, tx *store.Tx) (err error) {
		if found, err = tx.UsersByEmails(ctx, acme.ID, []string{"old@acme.example", "new0@acme.example", "missing@acme.example"}); err != nil {
			return err
		}
		if err := tx.CreateInvitedUsers(ctx, acme.ID, created, t0); err != nil {
			return err
		}
		up := *found["old@acme.example"]
		up.FirstName, up.WelcomeMessage, up.Permissions = "Renamed", "hi", 0
		return tx.UpdateInvitedUsers(ctx, acme.ID, []*roster.User{&up}, t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found["old@acme.example"] == nil || found["old@acme.example"].ID != old.ID {
		t.Errorf("UsersByEmails = %v, want only old@ of acme (the other org's new0@ must not show)", found)
	}
	for _, c := range created {
		got, err := db.UserByID(t.Context(), acme.ID, c.ID)
		if err != nil {
			t.Fatalf("created user %s: %v", c.Email, err)
		}
		if got.Email != c.Email || got.FirstName != "Émile" || got.ExpirationDate != c.ExpirationDate ||
			got.InvitationCount != 1 || got.DeliveryStatus != "queued" || !got.LastInvitedAt.Equal(t0) {
			t.Errorf("created %+v, want %s invited once, queued, expiring %v", got, c.Email, c.ExpirationDate)
		}
	}
	got, err := db.UserByID(t.Context(), acme.ID, old.ID)
	if err != nil || got.FirstName != "Renamed" || got.WelcomeMessage != "hi" || got.Permissions != 0 || got.InvitationCount != 1 {
		t.Errorf("updated user = %+v, %v; want renamed, invited once", got, err)
	}

	// A second batch counts a second invitation; an email taken is a conflict.
	err = tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		u := *got
		if err := tx.UpdateInvitedUsers(ctx, acme.ID, []*roster.User{&u}, t0); err != nil {
			return err
		}
		if u.InvitationCount != 2 {
			t.Errorf("UpdateInvitedUsers set InvitationCount %d, want 2", u.InvitationCount)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		return tx.CreateInvitedUsers(ctx, acme.ID, []*roster.User{{Email: "new2@acme.example"}}, t0)
	})
	if !errors.Is(err, roster.ErrConflict) {
		t.Errorf("CreateInvitedUsers(taken email) = %v, want ErrConflict", err)
	}
	// Another organization's id is not found, and nothing changes.
	err = tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		u := *got
		return tx.UpdateInvitedUsers(ctx, other.ID, []*roster.User{&u}, t0)
	})
	if err == nil {
		t.Error("UpdateInvitedUsers(user of another org) succeeded")
	}

	events := []*store.AuditEvent{
		{OrgID: acme.ID, Actor: "a", Action: "user.invite", TargetUserID: created[0].ID, Target: created[0].Email, After: `{"x":1}`, CreatedAt: t0},
		{OrgID: acme.ID, ActorUserID: old.ID, Actor: "b", Action: "user.reinvite", Target: "t", Before: `{"y":2}`, CreatedAt: t0},
	}
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.AuditMany(ctx, events) }); err != nil {
		t.Fatal(err)
	}
	log, err := db.AuditEvents(t.Context(), acme.ID, 0, 10)
	if err != nil || len(log) != 2 {
		t.Fatalf("AuditEvents = %d events, %v; want 2", len(log), err)
	}
	if e := log[1]; e.Action != "user.invite" || e.TargetUserID != created[0].ID || e.ActorUserID != 0 || e.After != `{"x":1}` || e.Before != "" {
		t.Errorf("first audit event = %+v", e)
	}
	if e := log[0]; e.ActorUserID != old.ID || e.TargetUserID != 0 || e.Before != `{"y":2}` || e.After != "" {
		t.Errorf("second audit event = %+v", e)
	}
}
