// Package domain decides which Oro records were deleted: the streaming id merge, the listing it trusts, the grace
// rule and the mass-delete breaker. Pure rules, no I/O.
package domain

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
)

// Tombstone reasons (events.ReasonDiff, events.ReasonAudit).
const (
	ReasonDiff  = events.ReasonDiff
	ReasonAudit = events.ReasonAudit
)

// Scope is the Mercato tenant and organization an orosync connection writes into.
type Scope struct {
	TenantID       uuid.UUID
	OrganizationID uuid.UUID
}

// ParseID reads an Oro id. Oro's ids are unsigned integers, and they are compared as numbers: "10" sorts after
// "9", and "007" is the record "7".
func ParseID(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("oro id %q is not an unsigned integer", s)
	}
	return n, nil
}

// Held is a record orosync holds as live, with the source version it last applied.
type Held struct {
	ID      string
	Version events.SourceVersion
}

// HeldID is a held record's id as stored (ID) and as a number (N), with the updatedAt of the version last applied
// (zero when unknown).
type HeldID struct {
	N         uint64
	ID        string
	UpdatedAt time.Time
}

// Listed is an id Oro listed, with its updatedAt when the listing asked for it (zero otherwise).
type Listed struct {
	ID        string
	UpdatedAt time.Time
}

// Counts are what one or more passes did.
type Counts struct {
	Listed     int // ids Oro listed
	Held       int // records orosync held as live
	Missing    int // held but not listed
	Published  int // tombstones JetStream acknowledged (Duplicates included)
	Duplicates int // of those, tombstones JetStream already had (an earlier pass noticed the same deletion)
	Unparsable int // held records whose id is not numeric (never tombstoned)
	// Waiting are missing records still in their grace passes (not tombstoned yet).
	Waiting int
	// Absent are records Oro lists that Mercato does not hold; Fetched of them were fetched and published.
	Absent  int
	Fetched int
	// Stale are records Oro lists at a newer updatedAt than the version applied (a change lost on the way);
	// Repaired of them were fetched and published again.
	Stale    int
	Repaired int
	// Audited are tombstones published from Oro's audit log (included in Published).
	Audited int
}

// Add sums counts.
func (c Counts) Add(o Counts) Counts {
	return Counts{Listed: c.Listed + o.Listed, Held: c.Held + o.Held, Missing: c.Missing + o.Missing,
		Published: c.Published + o.Published, Duplicates: c.Duplicates + o.Duplicates, Unparsable: c.Unparsable + o.Unparsable,
		Waiting: c.Waiting + o.Waiting, Absent: c.Absent + o.Absent, Fetched: c.Fetched + o.Fetched, Audited: c.Audited + o.Audited,
		Stale: c.Stale + o.Stale, Repaired: c.Repaired + o.Repaired}
}

// Policy is the mass-delete breaker: a pass that would delete more than MaxShare of a type's held records, or more
// than MaxCount of them, publishes nothing, unless it deletes at most Floor records or an operator confirmed it. A
// broken Oro permission or an emptied list endpoint then costs an alert and an operator's look, not a tenant's data.
type Policy struct {
	MaxShare float64 // 0 < MaxShare <= 1
	MaxCount int     // 0: no count limit
	Floor    int     // deletes up to Floor are always allowed, whatever the share
	Force    bool
}

// DefaultPolicy trips above 5 % of a type, unless it is at most ten records.
var DefaultPolicy = Policy{MaxShare: 0.05, Floor: 10}

// ErrTooManyDeletes is matched (errors.Is) by every *TooManyDeletesError.
var ErrTooManyDeletes = errors.New("too many deletes")

// TooManyDeletesError is a pass refused by the breaker.
type TooManyDeletesError struct {
	Missing, Held int
	Policy        Policy
}

func (e *TooManyDeletesError) Error() string {
	limit := fmt.Sprintf("more than the allowed share %.1f%%", 100*e.Policy.MaxShare)
	if e.Policy.MaxCount > 0 && e.Missing > e.Policy.MaxCount {
		limit = fmt.Sprintf("more than the allowed count %d", e.Policy.MaxCount)
	}
	return fmt.Sprintf("breaker tripped: refusing to delete %d of %d held records (%.1f%%): %s and more than %d; "+
		"nothing was published (check the Oro connection's permissions, then `orosync reconcile --confirm`)",
		e.Missing, e.Held, 100*float64(e.Missing)/float64(max(e.Held, 1)), limit, e.Policy.Floor)
}

// Is makes errors.Is(err, ErrTooManyDeletes) true.
func (e *TooManyDeletesError) Is(target error) bool { return target == ErrTooManyDeletes }

// Validate checks the policy's numbers.
func (p Policy) Validate() error {
	if !(p.MaxShare > 0 && p.MaxShare <= 1) {
		return fmt.Errorf("max delete share %v: must be in (0, 1]", p.MaxShare)
	}
	if p.Floor < 0 {
		return fmt.Errorf("delete floor %d: must not be negative", p.Floor)
	}
	if p.MaxCount < 0 {
		return fmt.Errorf("max delete count %d: must not be negative", p.MaxCount)
	}
	return nil
}

// Check allows or refuses deleting missing of held records.
func (p Policy) Check(missing, held int) error {
	if p.Force || missing <= p.Floor {
		return nil
	}
	if (p.MaxCount > 0 && missing > p.MaxCount) || float64(missing) > p.MaxShare*float64(held) {
		return &TooManyDeletesError{Missing: missing, Held: held, Policy: p}
	}
	return nil
}

// Tombstones builds one tombstone per missing record. deletedAt is when the pass started (the deletion happened
// before the listing, so no later); LastSeen is the stored version, so every pass that notices the same deletion
// produces the same message id.
func Tombstones(tenant, typ string, missing []Held, deletedAt time.Time, reason string, evidence *events.TombstoneEvidence) []events.Tombstone {
	out := make([]events.Tombstone, len(missing))
	for i, m := range missing {
		v := m.Version
		out[i] = events.Tombstone{
			RecordRef: events.RecordRef{Tenant: tenant, Type: typ, ID: m.ID},
			DeletedAt: deletedAt.UTC(),
			Reason:    reason,
			LastSeen:  &v,
			Op:        events.OpDelete,
			Evidence:  evidence,
		}
	}
	return out
}
