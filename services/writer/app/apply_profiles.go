package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/domain"
)

// Handle applies one batch: its companies first (one transaction), so links of the batch's people to them resolve,
// then its people (one transaction). A failure leaves the batch to be redelivered; what was committed is a no-op
// the second time.
// announced gets the records whose write emitted their created or updated event.
func (a ApplyChanges) handleEntities(ctx context.Context, changes []events.Change, announced map[domain.Key]bool) (Result, error) {
	var companies, people []events.Change
	for _, c := range changes {
		if c.Aggregate == events.AggregateCompany {
			companies = append(companies, c)
		} else {
			if people == nil {
				people = make([]events.Change, 0, len(changes))
			}
			people = append(people, c)
		}
	}
	var r Result
	if len(companies) > 0 {
		outcomes, err := a.Store.ApplyCompanies(ctx, a.Rules[events.AggregateCompany], companies)
		if err != nil {
			return Result{}, fmt.Errorf("applying %d company changes: %w", len(companies), err)
		}
		for _, o := range outcomes {
			r.tally(o.Applied, len(o.Conflicts), o.Events)
			announce(announced, o.Key, o.Events)
		}
	}
	if len(people) == 0 {
		return r, nil
	}
	changes = people
	lookup := Lookup{Emails: make(map[domain.Key]string, len(changes)), Keys: domain.KeysOf(changes)}
	for _, c := range changes {
		k := domain.KeyOf(c)
		if c.Op == events.OpUpsert && c.Person != nil && c.Person.PrimaryEmail != nil && *c.Person.PrimaryEmail != "" {
			lookup.Emails[k] = strings.ToLower(*c.Person.PrimaryEmail)
		}
	}
	outcomes, err := a.Store.ApplyBatch(ctx, lookup, func(state domain.State) []domain.Outcome {
		return domain.Plan(state, a.Rules, changes)
	})
	if err != nil {
		return Result{}, fmt.Errorf("applying %d changes: %w", len(changes), err)
	}
	for _, o := range outcomes {
		r.tally(o.Applied, len(o.Conflicts), o.Events)
		announce(announced, o.Key, o.Events)
	}
	return r, nil
}

func announce(announced map[domain.Key]bool, k domain.Key, evts []string) {
	for _, e := range evts {
		if e == "created" || e == "updated" {
			announced[k] = true
		}
	}
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

// applyProfiles applies the batch's companies and people, their owners, lifecycle stages and dictionary entries.
func (a ApplyChanges) applyProfiles(ctx context.Context, b batch) (Result, error) {
	r := Result{}
	announced := map[domain.Key]bool{}
	if len(b.entities) > 0 {
		var err error
		if r, err = a.handleEntities(ctx, b.entities, announced); err != nil {
			return Result{}, err
		}
	}
	if len(b.owned) > 0 {
		n, err := a.Store.ApplyProfileColumns(ctx, b.owned, b.staged, announced)
		if err != nil {
			return Result{}, fmt.Errorf("applying owners and lifecycle stages: %w", err)
		}
		r.add(n)
	}
	if len(b.dict) > 0 {
		if err := a.Store.EnsureDictionary(ctx, b.dict); err != nil {
			return Result{}, fmt.Errorf("dictionary entries: %w", err)
		}
	}
	return r, nil
}
