// Package app holds the writer's use case: apply a batch of changes to Mercato.
package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/domain"
)

// Lookup names what a batch needs loaded: its records, and the email each record arrives with (for the
// first-import email match of records new to orosync).
type Lookup struct {
	Keys   []domain.Key
	Emails map[domain.Key]string
}

// BatchStore loads, decides and persists in one transaction (the decision is domain.Plan).
type BatchStore interface {
	ApplyBatch(ctx context.Context, lookup Lookup, plan func(domain.State) []domain.Outcome) ([]domain.Outcome, error)
	// ApplyCompanies applies customers.company changes (domain.PlanCompanies) in one transaction.
	ApplyCompanies(ctx context.Context, rules domain.Policies, changes []events.Change) ([]domain.CompanyOutcome, error)
	RecordStore
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

// Handle applies one batch: its companies first (one transaction), so links of the batch's people to them resolve,
// then its people (one transaction). A failure leaves the batch to be redelivered; what was committed is a no-op
// the second time.
func (a ApplyChanges) handleEntities(ctx context.Context, changes []events.Change) (Result, error) {
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
			if o.Applied {
				r.Records++
			}
			r.Conflicts += len(o.Conflicts)
			r.count(o.Events)
		}
	}
	if len(people) == 0 {
		return r, nil
	}
	changes = people
	lookup := Lookup{Emails: make(map[domain.Key]string, len(changes)), Keys: make([]domain.Key, 0, len(changes))}
	seen := make(map[domain.Key]bool, len(changes))
	for _, c := range changes {
		k := domain.Key{Tenant: c.Tenant, SourceType: c.Source.Type, SourceID: c.Source.ID}
		if !seen[k] {
			seen[k] = true
			lookup.Keys = append(lookup.Keys, k)
		}
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
		if o.Applied {
			r.Records++
		}
		r.Conflicts += len(o.Conflicts)
		r.count(o.Events)
	}
	return r, nil
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
