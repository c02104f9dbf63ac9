package outbox_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/outbox"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// benchInvitations is how many invitations one iteration queues:
// ROSTER_BENCH_INVITATIONS, 1,000 by default.
var benchInvitations = func() int {
	n, err := strconv.Atoi(os.Getenv("ROSTER_BENCH_INVITATIONS"))
	if err != nil || n <= 0 {
		return 1000
	}
	return n
}()

// BenchmarkInvitationDelivery measures end-to-end invitation throughput
// with the worker's default settings (as `roster serve` runs it): each
// iteration queues benchInvitations invitations for existing users in one
// transaction, as a bulk resend does, and waits until a local SMTP server
// that accepts at once has received every one. It reports "invitations/s";
// the target is at least 500.
func BenchmarkInvitationDelivery(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			benchDelivery(b, be)
		})
	}
}

func benchDelivery(b *testing.B, be storetest.Backend) {
	e := newEnv(b, be.Open(b))
	srv := startSMTP(b, nil)
	// The users exist, and their first invitations are delivered (warming
	// up connections and caches), before the clock starts.
	ids := enqueueInvitations(b, e, benchInvitations, 0)
	startWorker(b, e.db, newSender(b, srv.URL()), func(o *outbox.Options) {
		o.RetryBase, o.PollInterval = 0, 0 // the defaults
	})
	srv.waitCount(b, benchInvitations, 2*time.Minute)
	sent := srv.count()

	rounds := 0
	for b.Loop() {
		rounds++
		err := e.db.InTx(b.Context(), func(tx *store.Tx) error {
			now := time.Now()
			args := make([]store.InvitationArgs, 0, len(ids))
			for _, id := range ids {
				seq, err := tx.MarkInvited(b.Context(), e.org.ID, id, now)
				if err != nil {
					return err
				}
				args = append(args, store.InvitationArgs{OrgID: e.org.ID, UserID: id, Seq: seq, InviterName: inviterName})
			}
			return tx.EnqueueInvitations(b.Context(), args)
		})
		if err != nil {
			b.Fatalf("queue invitations: %v", err)
		}
		sent += benchInvitations
		srv.waitCount(b, sent, 2*time.Minute+time.Duration(benchInvitations)*10*time.Millisecond)
	}
	b.ReportMetric(float64(rounds*benchInvitations)/b.Elapsed().Seconds(), "invitations/s")
}
