package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/mail"

	"github.com/roster-dev/roster/internal/roster"
)

// sendReset delivers a password-reset link.
func (s *Service) sendReset(ctx context.Context, org *roster.Org, u *roster.User, link string) error {
	if s.mailer == nil {
		s.log.Warn("No mailer configured; password reset not sent", "org_id", org.ID, "user_id", u.ID)
		return nil
	}
	m, err := renderReset(org, u, link, s.resetTTL)
	if err != nil {
		return err
	}
	return s.mailer.Send(ctx, m)
}

func renderReset(org *roster.Org, u *roster.User, link string, ttl time.Duration) (mail.Message, error) {
	return mail.Render("reset", u.Email, strings.TrimSpace(u.FirstName+" "+u.LastName), map[string]any{
		"OrgName": org.Name, "Name": u.Name(), "Email": u.Email, "Link": link, "ValidFor": HumanDuration(ttl),
	})
}

// HumanDuration says how long a link lasts, as "7 days" or "1 hour".
func HumanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	case d >= time.Hour:
		return "1 hour"
	}
	return fmt.Sprintf("%d minutes", int(d.Minutes()))
}
