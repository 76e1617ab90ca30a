package app

import (
	"context"
	"fmt"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/domain"
)

func (r *Result) add(o Result) {
	r.Records, r.Created, r.Updated, r.Deleted, r.Conflicts = r.Records+o.Records, r.Created+o.Created, r.Updated+o.Updated,
		r.Deleted+o.Deleted, r.Conflicts+o.Conflicts
}

// Result counts what a batch did.
type Result struct {
	Records, Created, Updated, Deleted, Conflicts int
}

// ApplyChanges applies changes idempotently: redelivered or out-of-order changes converge on the same rows.
type ApplyChanges struct {
	Store BatchStore
	Rules domain.Rules
}

// tally counts one record's outcome: applied or not, the conflicts it queued, the events it caused.
func (r *Result) tally(applied bool, conflicts int, evts []string) {
	if applied {
		r.Records++
	}
	r.Conflicts += conflicts
	r.count(evts)
}

func (r *Result) count(evts []string) {
	for _, e := range evts {
		switch e {
		case "created":
			r.Created++
		case "updated":
			r.Updated++
		case "deleted":
			r.Deleted++
		}
	}
}

// batch is a batch of changes sorted by how they are applied.
type batch struct {
	keys                []domain.Key
	entities, companies []events.Change
	byKind              map[string][]events.Change
	// dict are the dictionary values the person and company paths do not ensure; staged the people whose
	// lifecycle stage follows their last applied version.
	dict   []DictionaryValue
	staged map[domain.Key]bool
	// owned are the people and companies, whose owners follow their last applied versions.
	owned []domain.Key
}

func sortBatch(changes []events.Change) batch {
	b := batch{byKind: map[string][]events.Change{}, keys: make([]domain.Key, 0, len(changes))}
	seen := make(map[domain.Key]bool, len(changes))
	for _, c := range changes {
		k := domain.KeyOf(c)
		if !seen[k] {
			seen[k] = true
			b.keys = append(b.keys, k)
		}
		switch c.Aggregate {
		case events.AggregateDeal, events.AggregateInteraction, events.AggregateComment, events.AggregateUser:
			b.byKind[c.Aggregate] = append(b.byKind[c.Aggregate], c)
		case events.AggregateCompany:
			b.companies = append(b.companies, c)
		default:
			if b.entities == nil {
				b.entities = make([]events.Change, 0, len(changes))
			}
			b.entities = append(b.entities, c)
		}
	}
	seenOwned := map[domain.Key]bool{}
	for _, group := range [][]events.Change{b.companies, b.entities} {
		for _, c := range group {
			b.dict = append(b.dict, dictionaryValues(c)...)
			if k := domain.KeyOf(c); !seenOwned[k] {
				seenOwned[k] = true
				b.owned = append(b.owned, k)
			}
			if c.Person != nil && c.Person.LifecycleStage != nil {
				if b.staged == nil {
					b.staged = map[domain.Key]bool{}
				}
				b.staged[domain.KeyOf(c)] = true
			}
		}
	}
	return b
}

// Handle applies one batch: companies (one transaction), so links of the batch's people to them resolve, then
// people (one transaction) and their lifecycle stages, the owners and dictionary entries of both, then merged companies,
// deals, interactions, comments and users (one transaction per kind), and finally re-applies the records that were
// waiting for any record of the batch. A failure leaves the batch to be redelivered; what was committed is a no-op
// the second time (and waiting records are resolved again then).
func (a ApplyChanges) Handle(ctx context.Context, changes []events.Change) (Result, error) {
	b := sortBatch(changes)
	var merged []events.Change
	if len(b.companies) > 0 {
		var rest []events.Change
		var err error
		if merged, rest, err = a.Store.SplitMerges(ctx, b.companies); err != nil {
			return Result{}, err
		}
		b.entities = append(rest, b.entities...)
	}
	r, err := a.applyProfiles(ctx, b)
	if err != nil {
		return Result{}, err
	}
	for _, step := range []struct {
		name    string
		changes []events.Change
		apply   func(context.Context, []events.Change) (Result, error)
	}{
		{"merged company", merged, a.Store.ApplyMerges},
		{events.AggregateDeal, b.byKind[events.AggregateDeal], a.Store.ApplyDeals},
		{events.AggregateInteraction, b.byKind[events.AggregateInteraction], a.Store.ApplyInteractions},
		{events.AggregateComment, b.byKind[events.AggregateComment], a.Store.ApplyComments},
		{events.AggregateUser, b.byKind[events.AggregateUser], a.Store.ApplyUsers},
	} {
		if len(step.changes) == 0 {
			continue
		}
		n, err := step.apply(ctx, step.changes)
		if err != nil {
			return Result{}, fmt.Errorf("applying %d %s changes: %w", len(step.changes), step.name, err)
		}
		r.add(n)
	}
	n, err := a.Store.ResolveWaiting(ctx, b.keys)
	if err != nil {
		return Result{}, fmt.Errorf("re-applying records waiting for the batch: %w", err)
	}
	r.add(n)
	return r, nil
}
