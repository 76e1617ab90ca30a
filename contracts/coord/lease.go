// Package coord coordinates several instances of a service through the OROSYNC_CURSORS key-value bucket: a lease
// elects the one active instance (the poller and the reconciler of a connection), and a shared request budget
// keeps a connection's Oro requests within its limit whichever processes send them. Both write with
// compare-and-swap (a revision-checked update), so two instances never both win.
package coord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultLeasePeriod is how long a lease lasts without a renewal.
const DefaultLeasePeriod = 10 * time.Second

// Lease is one instance's candidacy for key. A standby polls it every Period/8 and takes it over (a
// revision-checked update) once its revision has not changed for 3·Period/4 of the standby's own clock, so no sooner
// than 3·Period/4 after the holder sent its last renewal. The holder's term therefore ends Period/2 after it sent
// its last successful renewal, answered or not yet: it renews every Period/8, retries a failed renewal until then,
// and cancels the work when the term ends, leaving a quarter period for the work to stop before a standby may
// start. A killed holder is replaced within one period of its last renewal, and no clocks need to agree. A holder
// that stops cleanly deletes the key, and a standby takes over at its next poll.
type Lease struct {
	KV     jetstream.KeyValue
	Key    string
	Holder string        // this instance's id (NewHolderID)
	Period time.Duration // 0: DefaultLeasePeriod
	Log    *slog.Logger
	// Taken, when set, is called with each term's context when this instance takes the lease, before the work
	// starts; Tried, when set, is closed after the first attempt to take it (after Taken when it was taken).
	Taken func(term context.Context)
	Tried chan struct{}
	// Now and After are the clock (tests step it); nil: the time package's.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// NewHolderID names this instance: host, process id and a random suffix.
func NewHolderID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// leaseValue is what the key holds.
type leaseValue struct {
	Holder    string    `json:"holder"`
	RenewedAt time.Time `json:"renewedAt"` // informational: the holder's clock
}

func (l *Lease) period() time.Duration {
	if l.Period <= 0 {
		return DefaultLeasePeriod
	}
	return l.Period
}

func (l *Lease) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Lease) after(d time.Duration) <-chan time.Time {
	if l.After != nil {
		return l.After(d)
	}
	return time.After(d)
}

func (l *Lease) log() *slog.Logger {
	if l.Log == nil {
		return slog.Default()
	}
	return l.Log
}

func (l *Lease) value() []byte {
	b, _ := json.Marshal(leaseValue{Holder: l.Holder, RenewedAt: l.now().UTC()})
	return b
}

// Run runs work each time this instance holds the lease, with a context cancelled when it loses it, until ctx is
// done or work returns (then it releases the lease and returns work's result).
func (l *Lease) Run(ctx context.Context, work func(context.Context) error) error {
	var w watch
	for {
		t, err := l.acquire(ctx, &w)
		if err != nil {
			return err
		}
		l.log().Info("lease taken: this instance is active", "key", l.Key, "holder", l.Holder)
		done, err := l.hold(ctx, t, work)
		if done {
			return err
		}
		l.log().Warn("lease lost: this instance stands by", "key", l.Key, "holder", l.Holder, "err", err)
		w = watch{}
	}
}

// watch is a standby's view of the key: the revision it last saw and when (its clock) it saw it change.
type watch struct {
	rev     uint64
	changed time.Time
}

// term is a held lease: the revision this instance wrote last and when (its clock) it sent that write.
type term struct {
	rev  uint64
	sent time.Time
}

// acquire polls the key until this instance takes the lease.
func (l *Lease) acquire(ctx context.Context, w *watch) (term, error) {
	for {
		sent := l.now()
		rev, ok, err := l.tryAcquire(ctx, w)
		if ok {
			return term{rev: rev, sent: sent}, nil
		}
		l.tried()
		if err != nil && ctx.Err() == nil {
			l.log().Warn("lease: reading the key failed; trying again", "key", l.Key, "err", err)
		}
		select {
		case <-ctx.Done():
			return term{}, ctx.Err()
		case <-l.after(l.period() / 8):
		}
	}
}

// tryAcquire is one standby poll: it creates a missing key, or takes over one whose revision has not changed for
// 3·Period/4 of this instance's clock.
func (l *Lease) tryAcquire(ctx context.Context, w *watch) (uint64, bool, error) {
	e, err := l.KV.Get(ctx, l.Key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		rev, err := l.KV.Create(ctx, l.Key, l.value())
		if err != nil {
			return 0, false, ignoreLost(err)
		}
		return rev, true, nil
	}
	if err != nil {
		return 0, false, err
	}
	now := l.now()
	if e.Revision() != w.rev || w.changed.IsZero() {
		w.rev, w.changed = e.Revision(), now
		return 0, false, nil
	}
	if now.Sub(w.changed) < 3*l.period()/4 {
		return 0, false, nil
	}
	rev, err := l.KV.Update(ctx, l.Key, l.value(), e.Revision())
	if err != nil {
		return 0, false, ignoreLost(err)
	}
	var prev leaseValue
	_ = json.Unmarshal(e.Value(), &prev)
	l.log().Warn("lease taken over from an instance that stopped renewing it", "key", l.Key, "previous", prev.Holder)
	return rev, true, nil
}

// ignoreLost turns losing a race for the key (another instance wrote it first) into no error.
func ignoreLost(err error) error {
	if isConflict(err) {
		return nil
	}
	return err
}

// isConflict says whether a revision-checked write failed because the key moved on.
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence)
}

// ErrConflict is a compare-and-swap write that found the key written by someone else since it was read.
var ErrConflict = errors.New("written by another instance since it was read")

// IsConflict says whether err is a lost compare-and-swap (ErrConflict or JetStream's own).
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) || isConflict(err) }

// hold runs work while renewing the lease. done says Run is over (ctx ended or work returned), with work's error;
// otherwise the lease was lost (taken over, or not renewed within the term) and err says why.
func (l *Lease) hold(ctx context.Context, t term, work func(context.Context) error) (done bool, err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if l.Taken != nil {
		l.Taken(wctx)
	}
	l.tried()
	result := make(chan error, 1)
	go func() { result <- work(wctx) }()
	var failed error // the last renewal's error, nil once one succeeds
	for {
		ends := t.sent.Add(l.period() / 2)
		next := t.sent.Add(l.period() / 8)
		if failed != nil {
			next = l.now().Add(l.period() / 16)
		}
		if ends.Before(next) {
			next = ends
		}
		select {
		case err := <-result:
			l.release(ctx, t.rev)
			return true, err
		case <-l.after(next.Sub(l.now())):
		}
		sent := l.now()
		if !sent.Before(ends) {
			cancel()
			<-result // the work has stopped before a standby may take over
			if failed == nil {
				failed = errors.New("no renewal was tried in time")
			}
			return false, fmt.Errorf("renewing %s: not renewed within half a period: %w", l.Key, failed)
		}
		uctx, ucancel := context.WithTimeout(wctx, ends.Sub(sent))
		rev, err := l.KV.Update(uctx, l.Key, l.value(), t.rev)
		ucancel()
		switch {
		case err == nil:
			t, failed = term{rev: rev, sent: sent}, nil
		case ctx.Err() != nil:
			cancel()
			werr := <-result
			l.release(ctx, t.rev)
			return true, werr
		case isConflict(err) && l.ownWrite(wctx, ends.Sub(l.now()), &t):
			failed = nil // an earlier attempt's write landed after its answer was given up; the term keeps its start
		case isConflict(err):
			cancel()
			<-result
			return false, fmt.Errorf("renewing %s: %w", l.Key, err)
		default:
			l.log().Warn("lease: renewing failed; trying again", "key", l.Key, "err", err)
			failed = err
		}
	}
}

// ownWrite says whether the key moved on by a renewal of this instance whose answer never came (a timed-out attempt
// that was written all the same), and takes its revision into t; it reads the key for at most timeout.
func (l *Lease) ownWrite(ctx context.Context, timeout time.Duration, t *term) bool {
	gctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	e, err := l.KV.Get(gctx, l.Key)
	if err != nil {
		return false
	}
	var v leaseValue
	if json.Unmarshal(e.Value(), &v) != nil || v.Holder != l.Holder || e.Revision() <= t.rev {
		return false
	}
	t.rev = e.Revision()
	return true
}

func (l *Lease) tried() {
	if l.Tried == nil {
		return
	}
	select {
	case <-l.Tried:
	default:
		close(l.Tried)
	}
}

// release deletes the key if this instance still holds it, so a standby takes over at once.
func (l *Lease) release(ctx context.Context, rev uint64) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := l.KV.Delete(rctx, l.Key, jetstream.LastRevision(rev)); err != nil && !isConflict(err) {
		l.log().Warn("lease: releasing failed (a standby takes over when it expires)", "key", l.Key, "err", err)
	}
}

// Holding is who holds a lease, as its key says (for `orosync status`).
type Holding struct {
	Holder    string
	RenewedAt time.Time // the holder's clock
}

// ReadLease reads the lease at key; ok is false when no instance holds it.
func ReadLease(ctx context.Context, kv jetstream.KeyValue, key string) (h Holding, ok bool, err error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return h, false, nil
	}
	if err != nil {
		return h, false, err
	}
	var v leaseValue
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return h, false, fmt.Errorf("lease %s is not valid: %w", key, err)
	}
	return Holding(v), true, nil
}
