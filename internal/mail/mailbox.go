package mail

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// File modes of the mailbox: the operator's group may read messages, nobody
// else; they hold sign-in links.
const (
	mailboxDirMode  = 0o750
	mailboxFileMode = 0o640
)

// mailboxTimeFormat sorts lexically in time order and is safe in file names.
const mailboxTimeFormat = "20060102T150405.000000000Z"

// Mailbox is the default Sender: it writes each message as an RFC 5322
// .eml file in a directory the operator reads, so a first run works with no
// mail server. Files are named <UTC time, to the nanosecond>-<ID>.eml (a
// random ID when Message.ID is empty) and appear atomically.
type Mailbox struct {
	dir  string
	opts Options
	log  *slog.Logger
	now  func() time.Time
}

var _ Sender = (*Mailbox)(nil)

// NewMailbox returns a Mailbox writing to dir, which it creates (mode 0750)
// if needed and checks is writable. A nil log discards log records.
func NewMailbox(dir string, o Options, log *slog.Logger) (*Mailbox, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, errors.New("mail: mailbox directory is empty")
	}
	if err := os.MkdirAll(dir, mailboxDirMode); err != nil {
		return nil, fmt.Errorf("mail: create mailbox directory: %w", err)
	}
	probe, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return nil, fmt.Errorf("mail: mailbox directory %s is not writable: %w", dir, err)
	}
	name := probe.Name()
	err = errors.Join(probe.Close(), os.Remove(name))
	if err != nil {
		return nil, fmt.Errorf("mail: mailbox directory %s: %w", dir, err)
	}
	return &Mailbox{dir: dir, opts: o, log: orDiscard(log), now: time.Now}, nil
}

// Dir returns the directory messages are written to.
func (b *Mailbox) Dir() string { return b.dir }

// String describes the sender for logs.
func (b *Mailbox) String() string { return "mailbox " + b.dir }

// Send writes m to a new file in the mailbox. The file is written under a
// temporary name, synced, then renamed, so a reader never sees half a
// message. An invalid message is refused with a *PermanentError.
func (b *Mailbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: mailbox send: %w", err)
	}
	now := b.now().UTC()
	bm, err := build(m, b.opts, now)
	if err != nil {
		return err
	}
	final := filepath.Join(b.dir, now.Format(mailboxTimeFormat)+"-"+bm.id+".eml")

	// The temporary name starts with a dot and does not end in .eml, so a
	// reader listing *.eml never picks it up.
	tmp, err := os.CreateTemp(b.dir, ".incoming-*.tmp")
	if err != nil {
		return fmt.Errorf("mail: mailbox send: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriter(tmp)
	if _, err := bm.msg.WriteTo(w); err != nil {
		return fmt.Errorf("mail: mailbox write %s: %w", tmp.Name(), err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("mail: mailbox write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(mailboxFileMode); err != nil {
		return fmt.Errorf("mail: mailbox chmod %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("mail: mailbox sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail: mailbox close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("mail: mailbox rename to %s: %w", final, err)
	}
	done = true
	// Make the rename itself durable. The message is already in place, so a
	// failure here is worth a warning, not a retry that would duplicate it.
	if d, err := os.Open(b.dir); err == nil {
		if err := d.Sync(); err != nil {
			b.log.Warn("mail: mailbox directory sync failed", "dir", b.dir, "err", err)
		}
		_ = d.Close()
	}
	b.log.Info("Message written to mailbox", "file", final, "to", m.To, "message_id", bm.messageID)
	return nil
}
