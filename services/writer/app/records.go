package app

import (
	"context"
	"fmt"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/domain"
)

// RecordStore applies the record aggregates (deals, interactions, comments, companies merged into another
// record's company), each kind in one transaction, and re-applies records waiting for others once those are written.
type RecordStore interface {
	SplitMerges(ctx context.Context, companies []events.Change) (merged, rest []events.Change, err error)
	ApplyMerges(ctx context.Context, changes []events.Change) (int, error)
	ApplyDeals(ctx context.Context, changes []events.Change) (int, error)
	ApplyInteractions(ctx context.Context, changes []events.Change) (int, error)
	ApplyComments(ctx context.Context, changes []events.Change) (int, error)
	ResolveWaiting(ctx context.Context, written []domain.Key) (int, error)
}

// Handle applies one batch: companies (one transaction), so links of the batch's people to them resolve, then
// people (one transaction), then merged companies, deals, interactions and comments (one transaction per kind), and
// finally re-applies the records that were waiting for any record of the batch. A failure leaves the batch to be
// redelivered; what was committed is a no-op the second time (and waiting records are resolved again then).
func (a ApplyChanges) Handle(ctx context.Context, changes []events.Change) (Result, error) {
	var entities, companies []events.Change
	byKind := map[string][]events.Change{}
	keys := make([]domain.Key, 0, len(changes))
	seen := make(map[domain.Key]bool, len(changes))
	for _, c := range changes {
		k := domain.Key{Tenant: c.Tenant, SourceType: c.Source.Type, SourceID: c.Source.ID}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
		switch c.Aggregate {
		case events.AggregateDeal, events.AggregateInteraction, events.AggregateComment:
			byKind[c.Aggregate] = append(byKind[c.Aggregate], c)
		case events.AggregateCompany:
			companies = append(companies, c)
		default:
			entities = append(entities, c)
		}
	}
	var merged []events.Change
	if len(companies) > 0 {
		var rest []events.Change
		var err error
		if merged, rest, err = a.Store.SplitMerges(ctx, companies); err != nil {
			return Result{}, err
		}
		entities = append(rest, entities...)
	}
	r := Result{}
	if len(entities) > 0 {
		var err error
		if r, err = a.handleEntities(ctx, entities); err != nil {
			return Result{}, err
		}
	}
	for _, step := range []struct {
		name    string
		changes []events.Change
		apply   func(context.Context, []events.Change) (int, error)
	}{
		{"merged company", merged, a.Store.ApplyMerges},
		{events.AggregateDeal, byKind[events.AggregateDeal], a.Store.ApplyDeals},
		{events.AggregateInteraction, byKind[events.AggregateInteraction], a.Store.ApplyInteractions},
		{events.AggregateComment, byKind[events.AggregateComment], a.Store.ApplyComments},
	} {
		if len(step.changes) == 0 {
			continue
		}
		n, err := step.apply(ctx, step.changes)
		if err != nil {
			return Result{}, fmt.Errorf("applying %d %s changes: %w", len(step.changes), step.name, err)
		}
		r.Records += n
	}
	n, err := a.Store.ResolveWaiting(ctx, keys)
	if err != nil {
		return Result{}, fmt.Errorf("re-applying records waiting for the batch: %w", err)
	}
	r.Records += n
	return r, nil
}
