package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/domain"
)

// RecordStore applies the record aggregates (deals, interactions, comments, companies merged into another
// record's company), each kind in one transaction, and re-applies records waiting for others once those are written.
type RecordStore interface {
	SplitMerges(ctx context.Context, companies []events.Change) (merged, rest []events.Change, err error)
	ApplyMerges(ctx context.Context, changes []events.Change) (Result, error)
	ApplyDeals(ctx context.Context, changes []events.Change) (Result, error)
	ApplyInteractions(ctx context.Context, changes []events.Change) (Result, error)
	ApplyComments(ctx context.Context, changes []events.Change) (Result, error)
	// ApplyUsers keeps Oro users and business units as directory entries (no Mercato rows).
	ApplyUsers(ctx context.Context, changes []events.Change) (Result, error)
	ResolveWaiting(ctx context.Context, written []domain.Key) (Result, error)
	// EnsureDictionary adds dictionary entries for values written into dictionary-backed columns.
	EnsureDictionary(ctx context.Context, values []DictionaryValue) error
	// ApplyLifecycleStages writes customer_entities.lifecycle_stage of people from their last applied versions.
	ApplyLifecycleStages(ctx context.Context, people []domain.Key) (Result, error)
}

// DictionaryValue is one value written into a column Mercato backs with a dictionary kind.
type DictionaryValue struct {
	Tenant, Kind, Value string
}

// dictionaryValues lists the dictionary values a person or company change brings that the entity paths do not
// ensure themselves: its lifecycle stage and its address types (Oro's types are joined with "," in purpose).
func dictionaryValues(c events.Change) []DictionaryValue {
	var out []DictionaryValue
	var addrs []events.Address
	switch {
	case c.Person != nil:
		if c.Person.LifecycleStage != nil {
			out = append(out, DictionaryValue{c.Tenant, "lifecycle_stage", *c.Person.LifecycleStage})
		}
		addrs = c.Person.Addresses
	case c.Company != nil:
		addrs = c.Company.Addresses
	}
	for _, a := range addrs {
		if a.Purpose == nil {
			continue
		}
		for _, p := range strings.Split(*a.Purpose, ",") {
			out = append(out, DictionaryValue{c.Tenant, "address_type", p})
		}
	}
	return out
}

// Handle applies one batch: companies (one transaction), so links of the batch's people to them resolve, then
// people (one transaction) and their lifecycle stages, the dictionary entries of both, then merged companies,
// deals, interactions, comments and users (one transaction per kind), and finally re-applies the records that were
// waiting for any record of the batch. A failure leaves the batch to be
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
		case events.AggregateDeal, events.AggregateInteraction, events.AggregateComment, events.AggregateUser:
			byKind[c.Aggregate] = append(byKind[c.Aggregate], c)
		case events.AggregateCompany:
			companies = append(companies, c)
		default:
			if entities == nil {
				entities = make([]events.Change, 0, len(changes))
			}
			entities = append(entities, c)
		}
	}
	var (
		dict   []DictionaryValue
		staged []domain.Key
	)
	for _, group := range [][]events.Change{companies, entities} {
		for _, c := range group {
			dict = append(dict, dictionaryValues(c)...)
			if c.Person != nil && c.Person.LifecycleStage != nil {
				staged = append(staged, domain.Key{Tenant: c.Tenant, SourceType: c.Source.Type, SourceID: c.Source.ID})
			}
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
	if len(staged) > 0 {
		n, err := a.Store.ApplyLifecycleStages(ctx, staged)
		if err != nil {
			return Result{}, fmt.Errorf("applying lifecycle stages: %w", err)
		}
		r.add(n)
	}
	if len(dict) > 0 {
		if err := a.Store.EnsureDictionary(ctx, dict); err != nil {
			return Result{}, fmt.Errorf("dictionary entries: %w", err)
		}
	}
	for _, step := range []struct {
		name    string
		changes []events.Change
		apply   func(context.Context, []events.Change) (Result, error)
	}{
		{"merged company", merged, a.Store.ApplyMerges},
		{events.AggregateDeal, byKind[events.AggregateDeal], a.Store.ApplyDeals},
		{events.AggregateInteraction, byKind[events.AggregateInteraction], a.Store.ApplyInteractions},
		{events.AggregateComment, byKind[events.AggregateComment], a.Store.ApplyComments},
		{events.AggregateUser, byKind[events.AggregateUser], a.Store.ApplyUsers},
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
	n, err := a.Store.ResolveWaiting(ctx, keys)
	if err != nil {
		return Result{}, fmt.Errorf("re-applying records waiting for the batch: %w", err)
	}
	r.add(n)
	return r, nil
}

func (r *Result) add(o Result) {
	r.Records, r.Created, r.Updated, r.Deleted, r.Conflicts = r.Records+o.Records, r.Created+o.Created, r.Updated+o.Updated,
		r.Deleted+o.Deleted, r.Conflicts+o.Conflicts
}
