package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/riverqueue/river/rivertype"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/outbox"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// TestDelivered: an invitation reaches the SMTP server once, with both
// parts and everything SPEC "Invitations and email" lists, its link sets a
// password and signs in, and a user who has a password gets a sign-in link.
func TestDelivered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b.Open(t))
		srv := startSMTP(t, nil)
		startWorker(t, e.db, newSender(t, srv.URL()))

		exp := roster.DateOf(time.Now().UTC()).AddDays(30)
		welcome := "Welcome to the analytical engine course!"
		u := e.invite(t, "ada@example.org", func(in *admin.InviteInput) {
			in.WelcomeMessage = roster.Some(welcome)
			in.ExpirationDate = roster.Some(exp)
		})
		got := e.waitStatus(t, u.ID, outbox.StatusSent, 10*time.Second)
		if got.DeliveryDetail != "" {
			t.Errorf("DeliveryDetail = %q, want empty once sent", got.DeliveryDetail)
		}

		msgs := srv.received()
		if got, want := len(msgs), 1; got != want {
			t.Fatalf("server received %d messages, want %d", got, want)
		}
		if got, want := strings.Join(msgs[0].To, ","), "ada@example.org"; got != want {
			t.Errorf("RCPT TO = %q, want %q", got, want)
		}
		m := parseMsg(t, msgs[0].Data)
		if got, want := m.To, "ada@example.org"; got != want {
			t.Errorf("To = %q, want %q", got, want)
		}
		if m.Text == "" || m.HTML == "" {
			t.Fatalf("text part %d bytes, HTML part %d bytes; want both", len(m.Text), len(m.HTML))
		}
		for _, want := range []string{orgName, inviterName, welcome, exp.String()} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("text part lacks %q:\n%s", want, m.Text)
			}
			if !strings.Contains(m.HTML, want) {
				t.Errorf("HTML part lacks %q:\n%s", want, m.HTML)
			}
		}
		if !strings.Contains(m.Subject, orgName) {
			t.Errorf("Subject = %q, want it to name %q", m.Subject, orgName)
		}
		tok := linkToken(t, m.Text)
		if got, want := linkToken(t, m.HTML), tok; got != want {
			t.Errorf("HTML link token = %q, want the text part's %q", got, want)
		}
		if got, want := len(tok), 43; got != want {
			t.Errorf("token length = %d, want %d (256 bits, base64url)", got, want)
		}

		info, err := e.svc.Link(t.Context(), tok)
		if err != nil {
			t.Fatalf("Link: %v", err)
		}
		if got, want := info.State, admin.LinkValid; got != want {
			t.Fatalf("Link state = %q, want %q", got, want)
		}
		if got, want := info.User.ID, u.ID; got != want {
			t.Errorf("Link user = %d, want %d", got, want)
		}
		sess, err := e.svc.UseLink(t.Context(), tok, goodPassword)
		if err != nil {
			t.Fatalf("UseLink: %v", err)
		}
		if got, want := sess.Actor.User.ID, u.ID; got != want {
			t.Errorf("signed in as user %d, want %d", got, want)
		}
		if sess.Secret == "" {
			t.Error("UseLink returned no session secret")
		}

		// Now that Ada has a password, a new invitation is a sign-in link.
		if _, err := e.svc.Resend(t.Context(), e.actor, u.ID); err != nil {
			t.Fatalf("Resend: %v", err)
		}
		e.waitStatus(t, u.ID, outbox.StatusSent, 10*time.Second)
		srv.waitCount(t, 2, 5*time.Second)
		m2 := parseMsg(t, srv.received()[1].Data)
		signin := baseURL + "/signin?" + url.Values{"email": {"ada@example.org"}}.Encode()
		if !strings.Contains(m2.Text, signin) {
			t.Errorf("second text part lacks the sign-in link %q:\n%s", signin, m2.Text)
		}
		if !strings.Contains(m2.HTML, signin) {
			t.Errorf("second HTML part lacks the sign-in link %q:\n%s", signin, m2.HTML)
		}
		if strings.Contains(m2.Text, "/link/") || strings.Contains(m2.HTML, "/link/") {
			t.Errorf("second message holds a one-time link; want only a sign-in link:\n%s", m2.Text)
		}
	})
}

// TestEscaping: a welcome message with markup is escaped in the HTML part
// and kept verbatim in the text part; a first name with CR/LF is refused
// before anything is stored or queued.
func TestEscaping(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b.Open(t))
		srv := startSMTP(t, nil)
		w := startWorker(t, e.db, newSender(t, srv.URL()))

		const welcome = "<script>alert(1)</script>"
		u := e.invite(t, "mallory@example.org", func(in *admin.InviteInput) { in.WelcomeMessage = roster.Some(welcome) })
		e.waitStatus(t, u.ID, outbox.StatusSent, 10*time.Second)
		msgs := srv.received()
		if got, want := len(msgs), 1; got != want {
			t.Fatalf("server received %d messages, want %d", got, want)
		}
		m := parseMsg(t, msgs[0].Data)
		if strings.Contains(m.HTML, "<script") {
			t.Errorf("HTML part holds the welcome message unescaped:\n%s", m.HTML)
		}
		if want := "&lt;script&gt;alert(1)&lt;/script&gt;"; !strings.Contains(m.HTML, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, m.HTML)
		}
		if !strings.Contains(m.Text, welcome) {
			t.Errorf("text part lacks the verbatim %q:\n%s", welcome, m.Text)
		}

		_, err := e.svc.Invite(t.Context(), e.actor, admin.InviteInput{
			Email:     "eve@example.org",
			FirstName: roster.Some("Eve\r\nBcc: victim@example.org"),
		})
		var ve *roster.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("Invite with CR/LF in first name: err = %v, want a *roster.ValidationError", err)
		}
		if _, ok := ve.Fields["first_name"]; !ok {
			t.Errorf("ValidationError fields = %v, want first_name", ve.Fields)
		}
		if _, err := e.db.UserByEmail(t.Context(), e.org.ID, "eve@example.org"); !errors.Is(err, roster.ErrNotFound) {
			t.Errorf("UserByEmail(eve) err = %v, want ErrNotFound: nothing stored", err)
		}
		if got, want := len(w.jobs(t)), 1; got != want {
			t.Errorf("%d invitation jobs, want %d: the refused one queued nothing", got, want)
		}
	})
}

// TestRollbackSendsNothing: a job enqueued in a transaction that rolls back
// is never worked.
func TestRollbackSendsNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b.Open(t))
		srv := startSMTP(t, nil)
		w := startWorker(t, e.db, newSender(t, srv.URL()))

		boom := errors.New("boom")
		err := e.db.InTx(t.Context(), func(tx *store.Tx) error {
			u := &roster.User{OrgID: e.org.ID, Email: "ghost@example.org", FirstName: "Ghost"}
			if err := tx.CreateUser(t.Context(), u, time.Now()); err != nil {
				return err
			}
			seq, err := tx.MarkInvited(t.Context(), e.org.ID, u.ID, time.Now())
			if err != nil {
				return err
			}
			if err := tx.EnqueueInvitation(t.Context(), store.InvitationArgs{OrgID: e.org.ID, UserID: u.ID, Seq: seq, InviterName: inviterName}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want %v", err, boom)
		}
		time.Sleep(time.Second)
		if got := srv.dataAttempts(); got != 0 {
			t.Errorf("server saw %d DATA commands after a rolled-back invitation, want 0", got)
		}
		if got := len(w.jobs(t)); got != 0 {
			t.Errorf("%d invitation jobs after rollback, want 0", got)
		}

		// The worker is alive: a committed invitation is sent, alone.
		u := e.invite(t, "real@example.org")
		e.waitStatus(t, u.ID, outbox.StatusSent, 10*time.Second)
		msgs := srv.received()
		if got, want := len(msgs), 1; got != want {
			t.Fatalf("server received %d messages, want %d", got, want)
		}
		if got, want := strings.Join(msgs[0].To, ","), "real@example.org"; got != want {
			t.Errorf("RCPT TO = %q, want %q", got, want)
		}
	})
}

// TestDurableAcrossRestart: an invitation committed by an instance that
// never ran a worker and then went away is sent by the next one.
func TestDurableAcrossRestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		dbURL, dir := b.URL(t)
		first, err := store.Open(t.Context(), store.Options{URL: dbURL, DataDir: dir})
		if err != nil {
			t.Fatalf("store.Open: %v", err)
		}
		e := newEnv(t, first)
		u := e.invite(t, "ada@example.org")
		if got, want := u.DeliveryStatus, outbox.StatusQueued; got != want {
			t.Errorf("status right after Invite = %q, want %q", got, want)
		}
		if err := first.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		second, err := store.Open(t.Context(), store.Options{URL: dbURL, DataDir: dir})
		if err != nil {
			t.Fatalf("store.Open again: %v", err)
		}
		t.Cleanup(func() { second.Close() })
		srv := startSMTP(t, nil)
		startWorker(t, second, newSender(t, srv.URL()))
		e.db = second
		e.waitStatus(t, u.ID, outbox.StatusSent, 10*time.Second)
		msgs := srv.received()
		if got, want := len(msgs), 1; got != want {
			t.Fatalf("server received %d messages, want %d", got, want)
		}
		if got, want := strings.Join(msgs[0].To, ","), "ada@example.org"; got != want {
			t.Errorf("RCPT TO = %q, want %q", got, want)
		}
	})
}

// TestKilledMidSend: a job whose invitation is already "sent" (the instance
// was killed after sending, before the job's completion was recorded) sends
// nothing more; one found "sending" (killed while talking to the mail
// server) is not sent again blindly but shown as unconfirmed.
func TestKilledMidSend(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b.Open(t))
		sent := e.invite(t, "sent@example.org")
		sending := e.invite(t, "sending@example.org")
		fresh := e.invite(t, "fresh@example.org")
		for id, status := range map[int64]string{sent.ID: outbox.StatusSent, sending.ID: outbox.StatusSending} {
			if _, err := e.db.SQL().ExecContext(t.Context(), "UPDATE users SET delivery_status = $1 WHERE id = $2", status, id); err != nil {
				t.Fatal(err)
			}
		}
		srv := startSMTP(t, nil)
		w := startWorker(t, e.db, newSender(t, srv.URL()))
		e.waitStatus(t, fresh.ID, outbox.StatusSent, 10*time.Second)
		got := e.waitStatus(t, sending.ID, outbox.StatusUnconfirmed, 10*time.Second)
		if !strings.Contains(got.DeliveryDetail, "may have arrived") {
			t.Errorf("unconfirmed detail = %q, want it to say the message may have arrived", got.DeliveryDetail)
		}
		states := map[rivertype.JobState]int{}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			clear(states)
			for _, j := range w.jobs(t) {
				states[j.State]++
			}
			if states[rivertype.JobStateCompleted] == 2 && states[rivertype.JobStateCancelled] == 1 {
				break
			}
		}
		if states[rivertype.JobStateCompleted] != 2 || states[rivertype.JobStateCancelled] != 1 {
			t.Errorf("job states %v, want 2 completed (sent, fresh) and 1 cancelled (sending)", states)
		}
		if msgs := srv.received(); len(msgs) != 1 || msgs[0].To[0] != "fresh@example.org" {
			t.Errorf("server received %d messages (%v), want only fresh@'s", len(msgs), msgs)
		}
	})
}

// TestTemporaryFailureThenSuccess: 451 twice, then 250: one message in the
// end, "retrying" with the server's answer in between, three attempts.
func TestTemporaryFailureThenSuccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b.Open(t))
		var (
			mu     sync.Mutex
			seen   []string // status and detail the user had at each DATA
			userID int64
		)
		srv := startSMTP(t, func(n int, _ []string) error {
			mu.Lock()
			id := userID
			mu.Unlock()
			if u, err := e.db.UserByID(context.Background(), e.org.ID, id); err == nil {
				mu.Lock()
				seen = append(seen, u.DeliveryStatus+": "+u.DeliveryDetail)
				mu.Unlock()
			}
			if n <= 2 {
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
			}
			return nil
		})
		mu.Lock() // the server reads userID only once a job runs
		w := startWorker(t, e.db, newSender(t, srv.URL()))
		u := e.invite(t, "ada@example.org")
		userID = u.ID
		mu.Unlock()

		got := e.waitStatus(t, u.ID, outbox.StatusSent, 10*time.Second)
		if got.DeliveryDetail != "" {
			t.Errorf("DeliveryDetail = %q, want empty once sent", got.DeliveryDetail)
		}
		if got, want := srv.count(), 1; got != want {
			t.Errorf("server accepted %d messages, want %d", got, want)
		}
		if got, want := srv.dataAttempts(), 3; got != want {
			t.Errorf("server saw %d DATA commands, want %d", got, want)
		}
		mu.Lock()
		defer mu.Unlock()
		if got, want := len(seen), 3; got != want {
			t.Fatalf("statuses seen at DATA = %q, want %d", seen, want)
		}
		// Every attempt is marked "sending" before it reaches the server (so
		// that a crash mid-send is known); when attempts 2 and 3 arrive, the
		// previous one's failure is still shown.
		if !strings.HasPrefix(seen[0], outbox.StatusSending+": ") {
			t.Errorf("status at attempt 1 = %q, want %q", seen[0], outbox.StatusSending)
		}
		for i, s := range seen[1:] {
			if !strings.HasPrefix(s, outbox.StatusSending+": ") || !strings.Contains(s, "451") || !strings.Contains(s, "try later") || !strings.Contains(s, "retrying") {
				t.Errorf("status at attempt %d = %q, want %q with the previous attempt's 451 answer", i+2, s, outbox.StatusSending)
			}
		}
		j := w.waitJobStates(t, 1, rivertype.JobStateCompleted, 5*time.Second)[0]
		if j.Attempt != 3 || len(j.Errors) != 2 {
			t.Errorf("job attempt %d with %d errors; want 3 and 2", j.Attempt, len(j.Errors))
		}
	})
}

// TestPermanentFailure: a 550 fails the invitation at once, with the
// reason, and cancels the job.
func TestPermanentFailure(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b.Open(t))
		srv := startSMTP(t, func(int, []string) error {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
		})
		w := startWorker(t, e.db, newSender(t, srv.URL()))
		u := e.invite(t, "nobody@example.org")
		got := e.waitStatus(t, u.ID, outbox.StatusFailed, 10*time.Second)
		if !strings.Contains(got.DeliveryDetail, "550") || !strings.Contains(got.DeliveryDetail, "no such user here") {
			t.Errorf("DeliveryDetail = %q, want the server's 550 answer", got.DeliveryDetail)
		}
		time.Sleep(2 * time.Second)
		if got, want := srv.dataAttempts(), 1; got != want {
			t.Errorf("server saw %d DATA commands, want %d (no retry after a permanent failure)", got, want)
		}
		if got := srv.count(); got != 0 {
			t.Errorf("server accepted %d messages, want 0", got)
		}
		jobs := w.jobs(t)
		if got, want := len(jobs), 1; got != want {
			t.Fatalf("%d invitation jobs, want %d", got, want)
		}
		if got, want := jobs[0].State, rivertype.JobStateCancelled; got != want {
			t.Errorf("job state = %s, want %s", got, want)
		}
		if got := e.waitStatus(t, u.ID, outbox.StatusFailed, 0); got.DeliveryDetail == "" {
			t.Error("failed status lost its detail")
		}
	})
}

// TestConnectionRefused: an unreachable server is a temporary failure.
func TestConnectionRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b.Open(t))
		// A long first delay keeps the job in River's retryable state.
		w := startWorker(t, e.db, newSender(t, "smtp://"+closedPort(t)+"?starttls=off"),
			func(o *outbox.Options) { o.RetryBase = time.Minute })
		u := e.invite(t, "ada@example.org")
		got := e.waitStatus(t, u.ID, outbox.StatusRetrying, 10*time.Second)
		if !strings.Contains(got.DeliveryDetail, "refused") {
			t.Errorf("DeliveryDetail = %q, want it to say the connection was refused", got.DeliveryDetail)
		}
		jobs := w.waitJobStates(t, 1, rivertype.JobStateRetryable, 5*time.Second)
		if got, want := jobs[0].Attempt, 1; got != want {
			t.Errorf("job attempt = %d, want %d", got, want)
		}
		if d := time.Until(jobs[0].ScheduledAt); d < 30*time.Second {
			t.Errorf("next attempt in %v, want about a minute (RetryBase)", d)
		}
	})
}

// TestNotSentWhenExpiredOrRemoved: the job re-checks the user when it runs.
func TestNotSentWhenExpiredOrRemoved(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b.Open(t))
		srv := startSMTP(t, nil)
		today := roster.DateOf(time.Now().UTC())

		// No worker yet: all three are queued.
		expired := e.invite(t, "expired@example.org", func(in *admin.InviteInput) { in.ExpirationDate = roster.Some(today.AddDays(10)) })
		if _, err := e.svc.UpdateUser(t.Context(), e.actor, expired.ID, admin.UserPatch{ExpirationDate: roster.Some(today)}); err != nil {
			t.Fatalf("UpdateUser(expire today): %v", err)
		}
		removed := e.invite(t, "removed@example.org")
		if err := e.svc.RemoveUser(t.Context(), e.actor, removed.ID); err != nil {
			t.Fatalf("RemoveUser: %v", err)
		}
		control := e.invite(t, "control@example.org")

		w := startWorker(t, e.db, newSender(t, srv.URL()))
		got := e.waitStatus(t, expired.ID, outbox.StatusFailed, 10*time.Second)
		if !strings.Contains(got.DeliveryDetail, "expired") {
			t.Errorf("DeliveryDetail = %q, want it to mention expired", got.DeliveryDetail)
		}
		e.waitStatus(t, control.ID, outbox.StatusSent, 10*time.Second)

		deadline := time.Now().Add(10 * time.Second)
		for {
			states := map[int64]rivertype.JobState{}
			for _, j := range w.jobs(t) {
				var a store.InvitationArgs
				if err := unmarshalArgs(j, &a); err != nil {
					t.Fatal(err)
				}
				states[a.UserID] = j.State
			}
			want := map[int64]rivertype.JobState{
				expired.ID: rivertype.JobStateCancelled,
				removed.ID: rivertype.JobStateCancelled,
				control.ID: rivertype.JobStateCompleted,
			}
			if fmt.Sprint(states) == fmt.Sprint(want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job states by user = %v, want %v", states, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
		msgs := srv.received()
		if got, want := len(msgs), 1; got != want {
			var to []string
			for _, m := range msgs {
				to = append(to, m.To...)
			}
			t.Fatalf("server received %d messages (to %v), want %d (only the control user's)", got, to, want)
		}
		if got, want := strings.Join(msgs[0].To, ","), "control@example.org"; got != want {
			t.Errorf("RCPT TO = %q, want %q", got, want)
		}
	})
}

// TestOlderJobNeverOverwritesNewer: of a user's several invitations the
// status shown is the newest's, and only the newest email's link works.
func TestOlderJobNeverOverwritesNewer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		t.Run("one after another", func(t *testing.T) {
			e := newEnv(t, b.Open(t))
			srv := startSMTP(t, nil)
			startWorker(t, e.db, newSender(t, srv.URL()))
			u := e.invite(t, "ada@example.org")
			srv.waitCount(t, 1, 10*time.Second)
			for i := 2; i <= 3; i++ {
				if _, err := e.svc.Resend(t.Context(), e.actor, u.ID); err != nil {
					t.Fatalf("Resend: %v", err)
				}
				srv.waitCount(t, i, 10*time.Second)
			}
			got := e.waitStatus(t, u.ID, outbox.StatusSent, 10*time.Second)
			if got, want := got.InvitationCount, 3; got != want {
				t.Errorf("InvitationCount = %d, want %d", got, want)
			}
			time.Sleep(300 * time.Millisecond)
			msgs := srv.received()
			if got, want := len(msgs), 3; got != want {
				t.Fatalf("server received %d messages, want %d", got, want)
			}
			for i, m := range msgs {
				want := admin.LinkReplaced
				if i == len(msgs)-1 {
					want = admin.LinkValid
				}
				checkLink(t, e, parseMsg(t, m.Data), want)
			}
		})

		// Invite and two resends in quick succession: whatever order the
		// jobs run in, the email of invitation 3 is sent and its link is the
		// one that works; an older invitation's job never voids it.
		t.Run("quick succession", func(t *testing.T) {
			e := newEnv(t, b.Open(t))
			srv := startSMTP(t, nil)
			startWorker(t, e.db, newSender(t, srv.URL()))
			u := e.invite(t, "ada@example.org")
			for range 2 {
				if _, err := e.svc.Resend(t.Context(), e.actor, u.ID); err != nil {
					t.Fatalf("Resend: %v", err)
				}
			}
			checkNewestWins(t, e, srv, u)
		})

		// All three queued before any worker runs: the two superseded
		// jobs must not send an email whose link a later one voids, nor void
		// the newest one's link.
		t.Run("queued while no worker ran", func(t *testing.T) {
			e := newEnv(t, b.Open(t))
			srv := startSMTP(t, nil)
			u := e.invite(t, "ada@example.org")
			for range 2 {
				if _, err := e.svc.Resend(t.Context(), e.actor, u.ID); err != nil {
					t.Fatalf("Resend: %v", err)
				}
			}
			startWorker(t, e.db, newSender(t, srv.URL()))
			checkNewestWins(t, e, srv, u)
		})
	})
}

// checkNewestWins waits for invitation 3 of u to be sent, then checks that
// its link is the only valid one among the messages received.
func checkNewestWins(t *testing.T, e *env, srv *smtpServer, u *roster.User) {
	t.Helper()
	got := e.waitStatus(t, u.ID, outbox.StatusSent, 10*time.Second)
	if got, want := got.InvitationCount, 3; got != want {
		t.Errorf("InvitationCount = %d, want %d", got, want)
	}
	time.Sleep(time.Second) // let any straggling older job run
	msgs := srv.received()
	if len(msgs) < 1 || len(msgs) > 3 {
		t.Fatalf("server received %d messages, want 1 to 3", len(msgs))
	}
	newest := fmt.Sprintf("<invitation-%d-3-1@", u.ID)
	var ids []string
	found := false
	for _, raw := range msgs {
		m := parseMsg(t, raw.Data)
		ids = append(ids, m.MessageID)
		want := admin.LinkReplaced
		if strings.HasPrefix(m.MessageID, newest) {
			found = true
			want = admin.LinkValid
		}
		checkLink(t, e, m, want)
	}
	if !found {
		t.Errorf("Message-IDs %v, want one starting %s", ids, newest)
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != len(msgs) {
		t.Errorf("Message-IDs %v, want each invitation sent at most once", ids)
	}
	if got := e.waitStatus(t, u.ID, outbox.StatusSent, 0); got.InvitationCount != 3 {
		t.Errorf("InvitationCount = %d after stragglers, want 3", got.InvitationCount)
	}
}

func checkLink(t *testing.T, e *env, m parsedMsg, want admin.LinkState) {
	t.Helper()
	info, err := e.svc.Link(t.Context(), linkToken(t, m.Text))
	if err != nil {
		t.Fatalf("Link: %v", err)
	}
	if got := info.State; got != want {
		t.Errorf("link of %s: state %q, want %q", m.MessageID, got, want)
	}
}

// TestExactlyOnceAcrossInstances: three instances on one database, 1,000
// invitations, each sent exactly once.
func TestExactlyOnceAcrossInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 invitations; skipped with -short")
	}
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		const n = 1000
		dbURL, dir := b.URL(t)
		srv := startSMTP(t, nil)
		sender := newSender(t, srv.URL())
		var dbs []*store.DB
		var workers []*worker
		for i := range 3 {
			db, err := store.Open(t.Context(), store.Options{URL: dbURL, DataDir: dir})
			if err != nil {
				t.Fatalf("store.Open #%d: %v", i, err)
			}
			t.Cleanup(func() { db.Close() })
			dbs = append(dbs, db)
		}
		e := newEnv(t, dbs[0])
		for i, db := range dbs {
			workers = append(workers, startWorker(t, db, sender, func(o *outbox.Options) { o.ID = fmt.Sprintf("instance-%d", i) }))
		}

		start := time.Now()
		ids := enqueueInvitations(t, e, n, 0)
		srv.waitCount(t, n, 60*time.Second)
		elapsed := time.Since(start)
		time.Sleep(2 * time.Second)

		msgs := srv.received()
		if got, want := len(msgs), n; got != want {
			t.Errorf("server received %d messages, want %d", got, want)
		}
		rcpts := map[string]int{}
		for _, m := range msgs {
			rcpts[strings.Join(m.To, ",")]++
		}
		if got, want := len(rcpts), n; got != want {
			t.Errorf("%d distinct recipients, want %d", got, want)
		}
		for r, c := range rcpts {
			if c != 1 {
				t.Errorf("%s received %d messages, want 1", r, c)
			}
		}
		for _, id := range ids {
			e.waitStatus(t, id, outbox.StatusSent, 5*time.Second)
		}
		byInstance := map[string]int{}
		for _, j := range workers[0].jobs(t) {
			if j.State != rivertype.JobStateCompleted || j.Attempt != 1 {
				t.Errorf("job %d: state %s, attempt %d; want completed on the first attempt", j.ID, j.State, j.Attempt)
			}
			for _, by := range j.AttemptedBy {
				byInstance[by]++
			}
		}
		t.Logf("%s: %d invitations in %v (%.0f/s); jobs worked per instance: %v", b.Name, n, elapsed.Round(time.Millisecond), n/elapsed.Seconds(), byInstance)
	})
}

// enqueueInvitations creates n users (emails user<offset+i>@example.org) and
// queues their invitations in transactions of 200, as an import would, and
// returns their ids.
func enqueueInvitations(t testing.TB, e *env, n, offset int) []int64 {
	t.Helper()
	ctx := t.Context()
	var ids []int64
	for lo := 0; lo < n; lo += 200 {
		err := e.db.InTx(ctx, func(tx *store.Tx) error {
			now := time.Now()
			var args []store.InvitationArgs
			for i := lo; i < min(lo+200, n); i++ {
				u := &roster.User{OrgID: e.org.ID, Email: fmt.Sprintf("user%d@example.org", offset+i), FirstName: "User", LastName: fmt.Sprint(offset + i)}
				if err := tx.CreateUser(ctx, u, now); err != nil {
					return err
				}
				seq, err := tx.MarkInvited(ctx, e.org.ID, u.ID, now)
				if err != nil {
					return err
				}
				ids = append(ids, u.ID)
				args = append(args, store.InvitationArgs{OrgID: e.org.ID, UserID: u.ID, Seq: seq, InviterName: inviterName})
			}
			return tx.EnqueueInvitations(ctx, args)
		})
		if err != nil {
			t.Fatalf("enqueue invitations: %v", err)
		}
	}
	return ids
}
