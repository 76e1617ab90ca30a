package coord

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// Revisions are the revisions of keys a process last read or wrote: its compare-and-swap writes (Swap) go over
// them, so a write after another instance's fails instead of undoing it.
type Revisions struct {
	mu  sync.Mutex
	rev map[string]uint64
}

// NewRevisions starts with no revision known.
func NewRevisions() *Revisions { return &Revisions{rev: map[string]uint64{}} }

// Seen records the revision of key as read (0: the key does not exist).
func (r *Revisions) Seen(key string, rev uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rev[key] = rev
}

func (r *Revisions) get(key string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rev[key]
}

// Swap writes value over the revision of key last seen (creating it when none was): a key another instance wrote
// meanwhile fails with ErrConflict.
func (r *Revisions) Swap(ctx context.Context, kv jetstream.KeyValue, key string, value []byte) error {
	var rev uint64
	var err error
	if known := r.get(key); known == 0 {
		rev, err = kv.Create(ctx, key, value)
	} else {
		rev, err = kv.Update(ctx, key, value, known)
	}
	if isConflict(err) {
		return ErrConflict
	}
	if err != nil {
		return err
	}
	r.Seen(key, rev)
	return nil
}
