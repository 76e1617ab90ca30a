package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/services/reconciler/adapters"
	"github.com/orosync/orosync/services/reconciler/domain"
)

// TypeState is what the reconciler keeps for one tenant and type, as `orosync status` shows it.
type TypeState struct {
	Tenant  string             `json:"tenant"`
	Type    string             `json:"type"`
	Breaker domain.Breaker     `json:"breaker"`
	Audit   domain.AuditCursor `json:"audit"`
	// Waiting are the records the latest complete pass missed that wait for more passes before a tombstone.
	Waiting int `json:"waiting"`
	// Passes are the latest complete diff passes, oldest first.
	Passes []string `json:"passes,omitempty"`
}

// States reads the state of every type of tenant ("" or "*": every tenant) from the cursor bucket.
func States(ctx context.Context, kv jetstream.KeyValue, tenant, typ string) ([]TypeState, error) {
	keys, err := stateKeys(ctx, kv, tenant, typ)
	if err != nil {
		return nil, err
	}
	st := adapters.State{KV: kv}
	var out []TypeState
	for _, tt := range keys {
		s := TypeState{Tenant: tt[0], Type: tt[1]}
		if s.Breaker, err = st.Breaker(ctx, tt[0], tt[1]); err != nil {
			return nil, err
		}
		if s.Audit, err = st.AuditCursor(ctx, tt[0], tt[1]); err != nil {
			return nil, err
		}
		g, err := st.Grace(ctx, tt[0], tt[1])
		if err != nil {
			return nil, err
		}
		s.Passes, s.Waiting = g.Passes, g.Waiting
		out = append(out, s)
	}
	return out, nil
}

// Confirm releases the tripped breakers of tenant and typ ("" or "*": all): the next round of each may delete
// as many records as the tripped pass would have (more trips again). It returns the breakers it released.
func Confirm(ctx context.Context, kv jetstream.KeyValue, tenant, typ, by string, now time.Time) ([]TypeState, error) {
	keys, err := stateKeys(ctx, kv, tenant, typ)
	if err != nil {
		return nil, err
	}
	st := adapters.State{KV: kv}
	var out []TypeState
	for _, tt := range keys {
		b, ok, err := st.Confirm(ctx, tt[0], tt[1], func(b *domain.Breaker) {
			at := now.UTC()
			b.Confirmed, b.ConfirmedAt, b.ConfirmedBy = true, &at, by
		})
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, TypeState{Tenant: tt[0], Type: tt[1], Breaker: b})
		}
	}
	return out, nil
}

// stateKeys lists the tenant/type pairs with reconciler state, sorted.
func stateKeys(ctx context.Context, kv jetstream.KeyValue, tenant, typ string) ([][2]string, error) {
	if tenant == "" {
		tenant = "*"
	}
	if typ == "" {
		typ = "*"
	}
	lister, err := kv.ListKeysFiltered(ctx, adapters.StateKey(tenant, typ, "*"))
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing reconciler state: %w", err)
	}
	seen := map[[2]string]bool{}
	var out [][2]string
	for k := range lister.Keys() {
		parts := strings.Split(k, ".")
		if len(parts) != 4 {
			continue
		}
		tt := [2]string{parts[1], parts[2]}
		if !seen[tt] {
			seen[tt] = true
			out = append(out, tt)
		}
	}
	_ = lister.Stop() // the key channel closed: the listing ended, and Stop only finds its subscription gone
	slices.SortFunc(out, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	return out, nil
}
