// Package outbox works Roster's background jobs: it claims invitation jobs
// from the durable queue (River, on our own database), renders and sends the
// email, retries temporary failures with backoff, and records the delivery
// status on the user. Enqueueing is a store call in the caller's transaction.
//
// It imports store, auth and mail; never admin, web or api.
package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/mail"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// Options configures a Worker.
type Options struct {
	DB      *store.DB
	Sender  mail.Sender
	Logger  *slog.Logger
	BaseURL string
	LinkTTL time.Duration
	Now     func() time.Time
	// Workers is how many emails are sent at once (default 20).
	Workers int
	// RetryBase is the first retry's delay; each next one doubles, up to an
	// hour (default 10 s).
	RetryBase time.Duration
	// PollInterval is how often the queue is checked for new jobs when no
	// notification says so (default 200 ms).
	PollInterval time.Duration
	// ID names this instance in River's bookkeeping (default generated).
	ID string
	// TakeoverAfter is how long a job held by an instance that stopped
	// answering waits before another works it (default 1 minute); a job
	// may run for three quarters of it.
	TakeoverAfter time.Duration
}

// Worker runs the background jobs of one instance.
type Worker struct {
	client *river.Client[*sql.Tx]
	log    *slog.Logger
}

// New returns a Worker; Run starts it.
func New(o Options) (*Worker, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers <= 0 {
		o.Workers = 20
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 10 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.TakeoverAfter <= 0 {
		o.TakeoverAfter = time.Minute
	}
	if o.LinkTTL <= 0 {
		o.LinkTTL = 7 * 24 * time.Hour
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &invitationWorker{o: o}); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &fanoutWorker{o: o}); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	client, err := river.NewClient(o.DB.RiverDriver(), &river.Config{
		ID: o.ID,
		Queues: map[string]river.QueueConfig{
			store.QueueEmail:  {MaxWorkers: o.Workers},
			store.QueueFanout: {MaxWorkers: 2},
		},
		Workers:           workers,
		Logger:            o.Logger.With("component", "queue"),
		FetchPollInterval: o.PollInterval,
		// Our drivers have no LISTEN/NOTIFY: a busy queue is refetched as
		// jobs finish, at most once per cooldown, so Workers/FetchCooldown
		// caps throughput (10 per 100 ms was 100 invitations/s).
		FetchCooldown: min(o.PollInterval, 20*time.Millisecond),
		JobTimeout:    o.TakeoverAfter * 3 / 4,
		// A job left running by an instance that died is given to another
		// after this long (it must exceed JobTimeout).
		RescueStuckJobsAfter:        o.TakeoverAfter,
		CompletedJobRetentionPeriod: 24 * time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: queue client: %w", err)
	}
	return &Worker{client: client, log: o.Logger}, nil
}

// Run works jobs until ctx is cancelled, then stops taking new ones and
// waits (up to 30 s) for those in flight.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.client.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // asked to stop while starting
		}
		return fmt.Errorf("outbox: start: %w", err)
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.client.Stop(stopCtx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("outbox: stop: %w", err)
	}
	return nil
}

// Client exposes the queue client, for tests that wait on job events.
func (w *Worker) Client() *river.Client[*sql.Tx] { return w.client }

// Delivery statuses shown per user.
const (
	StatusQueued   = "queued"
	StatusSent     = "sent"
	StatusRetrying = "retrying"
	StatusFailed   = "failed"
	// StatusSending is set just before the message goes to the mail server.
	StatusSending = "sending"
	// StatusUnconfirmed: the instance stopped while sending, so the message
	// may or may not have gone; it is not sent again on its own.
	StatusUnconfirmed = "unconfirmed"
)

// fanoutWorker turns a batch job into its invitation jobs, and completes
// itself in the same transaction, so each is queued exactly once.
type fanoutWorker struct {
	river.WorkerDefaults[store.InvitationBatchArgs]
	o Options
}

func (w *fanoutWorker) Work(ctx context.Context, job *river.Job[store.InvitationBatchArgs]) error {
	// While the organization has an import applying, its batches wait:
	// turning them into jobs now would take half of the import's database
	// time, and the import is what the admin is watching. The invitations
	// are queued all the same; sending starts as it ends.
	busy, err := w.o.DB.ImportApplying(ctx, job.Args.OrgID)
	if err != nil {
		return err
	}
	if busy {
		return river.JobSnooze(w.o.PollInterval * 10)
	}
	invitations, err := job.Args.Invitations()
	if err != nil {
		return river.JobCancel(err)
	}
	return w.o.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.EnqueueEachInvitation(ctx, invitations); err != nil {
			return err
		}
		_, err := river.JobCompleteTx[riverdriver.Driver[*sql.Tx]](ctx, tx.SQL(), job)
		return err
	})
}

type invitationWorker struct {
	river.WorkerDefaults[store.InvitationArgs]
	o Options
}

// NextRetry backs off exponentially from RetryBase, capped at an hour.
func (w *invitationWorker) NextRetry(job *river.Job[store.InvitationArgs]) time.Time {
	d := w.o.RetryBase << min(max(job.Attempt-1, 0), 12)
	return w.o.Now().Add(min(d, time.Hour))
}

func (w *invitationWorker) Work(ctx context.Context, job *river.Job[store.InvitationArgs]) error {
	a := job.Args
	db := w.o.DB
	log := w.o.Logger.With("org_id", a.OrgID, "user_id", a.UserID, "job_id", job.ID, "attempt", job.Attempt)
	p, err := db.UserWithOrg(ctx, a.OrgID, a.UserID)
	if errors.Is(err, roster.ErrNotFound) {
		return river.JobCancel(errors.New("user removed before the invitation was sent"))
	}
	if err != nil {
		return err
	}
	org, u := p.Org, p.User
	if a.Email != "" && u.Email != a.Email {
		// The user was removed and (SQLite) the id given to someone else.
		return river.JobCancel(errors.New("user removed before the invitation was sent"))
	}
	if u.InvitationCount != a.Seq {
		// A newer invitation was queued: its job sends the email, with the
		// one link that works; this one must neither send nor void it.
		return river.JobCancel(fmt.Errorf("invitation %d superseded by invitation %d", a.Seq, u.InvitationCount))
	}
	switch u.DeliveryStatus {
	case StatusSent:
		// Sent by an earlier attempt whose completion was lost (the
		// instance was killed right after): done.
		return nil
	case StatusSending:
		// An earlier attempt was stopped while talking to the mail server:
		// the message may have gone. Sending again could send it twice;
		// say so to the admin, who can resend.
		w.setStatus(ctx, log, a, StatusUnconfirmed, "Roster stopped while sending this invitation; it may have arrived. Resend it if the person did not get it.")
		return river.JobCancel(errors.New("interrupted while sending; not sent again"))
	}
	now := w.o.Now()
	if roster.IsExpired(u.ExpirationDate, org.Today(now)) {
		// SPEC: an expired user is never emailed.
		msg := fmt.Sprintf("not sent: access expired on %s before the invitation went out", u.ExpirationDate)
		w.setStatus(ctx, log, a, StatusFailed, msg)
		return river.JobCancel(errors.New(msg))
	}
	link, err := w.link(ctx, org, u, a.Seq, now)
	if errors.Is(err, errSuperseded) {
		return river.JobCancel(fmt.Errorf("invitation %d superseded by a newer one", a.Seq))
	}
	if err != nil {
		return err
	}
	m, err := mail.Render("invitation", u.Email, strings.TrimSpace(u.FirstName+" "+u.LastName), map[string]any{
		"OrgName": org.Name, "Inviter": a.InviterName, "Name": u.Name(), "FirstName": u.FirstName, "Email": u.Email,
		"Welcome": u.WelcomeMessage, "Expires": u.ExpirationDate.String(), "Link": link, "HasPassword": u.HasPassword,
		"ValidFor": humanDuration(w.o.LinkTTL),
	})
	if err != nil {
		return river.JobCancel(err)
	}
	m.ID = fmt.Sprintf("invitation-%d-%d-%d", a.UserID, a.Seq, job.Attempt)
	if u.HasPassword {
		// (For a user without one, minting the link marked it.)
		latest, err := w.o.DB.MarkSending(ctx, a.OrgID, a.UserID, a.Seq, now)
		if err != nil {
			return err
		}
		if !latest {
			return river.JobCancel(fmt.Errorf("invitation %d superseded by a newer one", a.Seq))
		}
	}
	if err := w.o.Sender.Send(ctx, m); err != nil {
		switch {
		case mail.IsPermanent(err):
			w.setStatus(ctx, log, a, StatusFailed, err.Error())
			log.Warn("Invitation refused by the mail server", "err", err)
			return river.JobCancel(err)
		case job.Attempt >= job.MaxAttempts:
			w.setStatus(ctx, log, a, StatusFailed, fmt.Sprintf("gave up after %d attempts: %v", job.Attempt, err))
		default:
			w.setStatus(ctx, log, a, StatusRetrying, fmt.Sprintf("attempt %d failed: %v; retrying", job.Attempt, err))
		}
		log.Warn("Send invitation", "err", err)
		return err
	}
	w.setStatus(ctx, log, a, StatusSent, "")
	return nil
}

func (w *invitationWorker) setStatus(ctx context.Context, log *slog.Logger, a store.InvitationArgs, status, detail string) {
	if err := w.o.DB.SetDelivery(ctx, a.OrgID, a.UserID, a.Seq, status, detail, w.o.Now()); err != nil {
		log.Error("Record delivery status", "err", err)
	}
}

// errSuperseded: a newer invitation was queued while this one's job ran.
var errSuperseded = errors.New("outbox: invitation superseded")

// link mints the invitation link when the email is sent (voiding older
// links), or, for a user who already has a password, a sign-in link. It
// mints only while invitation seq is the user's latest (errSuperseded
// otherwise), holding the user's row so that a newer one waits for it.
func (w *invitationWorker) link(ctx context.Context, org *roster.Org, u *roster.User, seq int, now time.Time) (string, error) {
	base := strings.TrimRight(w.o.BaseURL, "/")
	if u.HasPassword {
		return base + "/signin?" + url.Values{"email": {u.Email}}.Encode(), nil
	}
	tok, err := auth.NewToken("")
	if err != nil {
		return "", err
	}
	err = w.o.DB.InTx(ctx, func(tx *store.Tx) error {
		latest, err := tx.MintInvitationLink(ctx, org.ID, u.ID, seq, auth.HashToken(tok.Reveal()), now, now.Add(w.o.LinkTTL))
		if err == nil && !latest {
			err = errSuperseded
		}
		return err
	})
	if errors.Is(err, errSuperseded) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("outbox: mint invitation link: %w", err)
	}
	return base + "/link/" + tok.Reveal(), nil
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return "1 hour"
}
