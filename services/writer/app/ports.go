// Package app holds the writer's use cases, one a file: apply a batch of changes to Mercato (apply_changes.go,
// with its people and companies in apply_profiles.go) and resolve a review-queue conflict (resolve_conflict.go);
// ports.go declares what they need of the store.
package app

import (
	"context"

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
	// ApplyProfileColumns writes, from their last applied versions, the Mercato users owning people and companies
	// (matched by email) and the lifecycle stages of the people in staged; other records among keys are left alone.
	// A record in announced had its created or updated event written by this batch, which the columns ride on.
	ApplyProfileColumns(ctx context.Context, keys []domain.Key, staged, announced map[domain.Key]bool) (Result, error)
}

// DictionaryValue is one value written into a column Mercato backs with a dictionary kind.
type DictionaryValue struct {
	Tenant, Kind, Value string
}

// ConflictStore settles review-queue entries (see ResolveConflict).
type ConflictStore interface {
	Resolve(ctx context.Context, id int64, resolution string) error
}
