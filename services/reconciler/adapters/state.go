package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/coord"

	"github.com/orosync/orosync/services/reconciler/domain"
)

// CursorBucket is the key-value bucket the reconciler keeps its state in, next to the poller's cursors, under
// keys of its own: _reconciler.<tenant>.<type>.grace|breaker|audit|repairs.
const CursorBucket = "OROSYNC_CURSORS"

// StateKey is the key of one part of a type's reconciler state.
func StateKey(tenant, typ, part string) string {
	return strings.Join([]string{"_reconciler", tenant, typ, part}, ".")
}

// State stores grace, breaker and audit cursor per tenant and type.
type State struct {
	KV jetstream.KeyValue
	// Revisions, when set, makes every write a compare-and-swap over the revision last read or written here: a
	// write after another instance's or an operator's (a confirmed breaker) fails instead of undoing it.
	Revisions *coord.Revisions
}

func (s State) load(ctx context.Context, key string, v any) (uint64, error) {
	e, err := s.KV.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		if s.Revisions != nil {
			s.Revisions.Seen(key, 0)
		}
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("loading %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, fmt.Errorf("%s is not valid: %w", key, err)
	}
	if s.Revisions != nil {
		s.Revisions.Seen(key, e.Revision())
	}
	return e.Revision(), nil
}

func (s State) save(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	if s.Revisions != nil {
		err = s.Revisions.Swap(ctx, s.KV, key, b)
	} else {
		_, err = s.KV.Put(ctx, key, b)
	}
	if err != nil {
		return fmt.Errorf("saving %s (%d bytes): %w", key, len(b), err)
	}
	return nil
}

// Grace loads a type's grace state (empty when none).
func (s State) Grace(ctx context.Context, tenant, typ string) (domain.Grace, error) {
	var g domain.Grace
	_, err := s.load(ctx, StateKey(tenant, typ, "grace"), &g)
	return g, err
}

// SaveGrace stores a type's grace state.
func (s State) SaveGrace(ctx context.Context, tenant, typ string, g domain.Grace) error {
	return s.save(ctx, StateKey(tenant, typ, "grace"), g)
}

// Breaker loads a type's breaker state (not tripped when none).
func (s State) Breaker(ctx context.Context, tenant, typ string) (domain.Breaker, error) {
	var b domain.Breaker
	_, err := s.load(ctx, StateKey(tenant, typ, "breaker"), &b)
	return b, err
}

// SaveBreaker stores a type's breaker state.
func (s State) SaveBreaker(ctx context.Context, tenant, typ string, b domain.Breaker) error {
	return s.save(ctx, StateKey(tenant, typ, "breaker"), b)
}

// Confirm releases a tripped breaker (an operator's `orosync reconcile --confirm`). It compares and swaps, so a
// trip recorded meanwhile is not confirmed unseen; it reports whether the breaker was tripped.
func (s State) Confirm(ctx context.Context, tenant, typ string, confirm func(*domain.Breaker)) (domain.Breaker, bool, error) {
	key := StateKey(tenant, typ, "breaker")
	var b domain.Breaker
	rev, err := s.load(ctx, key, &b)
	if err != nil || !b.Tripped {
		return b, false, err
	}
	confirm(&b)
	body, err := json.Marshal(b)
	if err != nil {
		return b, false, err
	}
	if _, err := s.KV.Update(ctx, key, body, rev); err != nil {
		return b, false, fmt.Errorf("confirming %s (it changed meanwhile? run again): %w", key, err)
	}
	return b, true, nil
}

// AuditCursor loads a type's audit cursor (zero when none).
func (s State) AuditCursor(ctx context.Context, tenant, typ string) (domain.AuditCursor, error) {
	var c domain.AuditCursor
	_, err := s.load(ctx, StateKey(tenant, typ, "audit"), &c)
	return c, err
}

// SaveAuditCursor stores a type's audit cursor.
func (s State) SaveAuditCursor(ctx context.Context, tenant, typ string, c domain.AuditCursor) error {
	return s.save(ctx, StateKey(tenant, typ, "audit"), c)
}

// Repairs loads the versions a type's passes repaired (none when none).
func (s State) Repairs(ctx context.Context, tenant, typ string) (domain.Repairs, error) {
	r := domain.Repairs{}
	_, err := s.load(ctx, StateKey(tenant, typ, "repairs"), &r)
	return r, err
}

// SaveRepairs stores the versions a type's passes repaired.
func (s State) SaveRepairs(ctx context.Context, tenant, typ string, r domain.Repairs) error {
	return s.save(ctx, StateKey(tenant, typ, "repairs"), r)
}
