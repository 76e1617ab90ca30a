// Package app holds the writer's use case: apply a batch of changes to Mercato.
package app

import (
	"context"
	"fmt"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/domain"
)

// BatchStore loads, decides and persists in one transaction (the decision is domain.Plan).
type BatchStore interface {
	ApplyBatch(ctx context.Context, keys []domain.Key, plan func(map[domain.Key]*domain.Stored) []domain.Outcome) ([]domain.Outcome, error)
}

// Result counts what a batch did.
type Result struct {
	Records, Created, Updated, Deleted int
}

// ApplyChanges applies changes idempotently: redelivered or out-of-order changes converge on the same rows.
type ApplyChanges struct {
	Store BatchStore
}

// Handle applies one batch in one transaction.
func (a ApplyChanges) Handle(ctx context.Context, changes []events.Change) (Result, error) {
	seen := map[domain.Key]bool{}
	var keys []domain.Key
	for _, c := range changes {
		k := domain.Key{Tenant: c.Tenant, SourceType: c.Source.Type, SourceID: c.Source.ID}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	outcomes, err := a.Store.ApplyBatch(ctx, keys, func(stored map[domain.Key]*domain.Stored) []domain.Outcome {
		return domain.Plan(stored, changes)
	})
	if err != nil {
		return Result{}, fmt.Errorf("applying %d changes: %w", len(changes), err)
	}
	var r Result
	r.Records = len(outcomes)
	for _, o := range outcomes {
		for _, e := range o.Events {
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
	return r, nil
}
