// Package domain decides which Oro records were deleted: the id diff, the listing it trusts and the share rule.
// Pure rules, no I/O.
package domain

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
)

// ReasonIDDiff is the tombstone reason of a deletion found by comparing ids.
const ReasonIDDiff = "id-diff"

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

// Listing is the set of ids Oro listed, gathered page by page in ascending id order (keyset paging on id). Add
// refuses an id that is not numeric or not above the previous one: a listing out of order could have skipped
// rows, and the reconciler never acts on a listing it cannot trust.
type Listing struct {
	ids []uint64 // strictly ascending
}

// Add appends the next listed id.
func (l *Listing) Add(id string) error {
	n, err := ParseID(id)
	if err != nil {
		return fmt.Errorf("listing: %w", err)
	}
	if k := len(l.ids); k > 0 && n <= l.ids[k-1] {
		return fmt.Errorf("listing: id %d came after id %d: Oro did not return ids in ascending order", n, l.ids[k-1])
	}
	l.ids = append(l.ids, n)
	return nil
}

// Last is the highest id listed so far (for filter[id][gt]); ok is false while nothing has been listed.
func (l *Listing) Last() (id string, ok bool) {
	if len(l.ids) == 0 {
		return "", false
	}
	return strconv.FormatUint(l.ids[len(l.ids)-1], 10), true
}

// Len is the number of ids listed.
func (l *Listing) Len() int { return len(l.ids) }

// Has reports whether id was listed.
func (l *Listing) Has(id uint64) bool {
	_, ok := slices.BinarySearch(l.ids, id)
	return ok
}

// Held is a record orosync holds as live, with the source version it last applied.
type Held struct {
	ID      string
	Version events.SourceVersion
}

// Diff is what the reconciler found for one type.
type Diff struct {
	// Missing are held records Oro no longer lists, in ascending numeric id order.
	Missing []Held
	// Unparsable are held records whose id is not an Oro id; they are never tombstoned (they cannot be compared
	// with the listing) and are reported so an operator can look at them.
	Unparsable []Held
}

// Compare finds the held records the listing does not contain.
func Compare(listed *Listing, held []Held) Diff {
	type numbered struct {
		n uint64
		h Held
	}
	var d Diff
	var missing []numbered
	for _, h := range held {
		n, err := ParseID(h.ID)
		if err != nil {
			d.Unparsable = append(d.Unparsable, h)
			continue
		}
		if !listed.Has(n) {
			missing = append(missing, numbered{n, h})
		}
	}
	slices.SortFunc(missing, func(a, b numbered) int {
		if a.n != b.n {
			if a.n < b.n {
				return -1
			}
			return 1
		}
		return cmpString(a.h.ID, b.h.ID) // "7" and "007" both held: keep a stable order
	})
	for _, m := range missing {
		d.Missing = append(d.Missing, m.h)
	}
	return d
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Policy is the safety rule on deletes: a pass that would delete more than MaxShare of the held records, and more
// than Floor records, is refused unless Force is set. A broken Oro permission or an emptied list endpoint then
// costs a refused pass and an operator's look, not a tenant's data.
type Policy struct {
	MaxShare float64 // 0 < MaxShare <= 1
	Floor    int     // deletes up to Floor are always allowed, whatever the share
	Force    bool
}

// DefaultPolicy refuses to delete more than half of a type, unless it is at most ten records.
var DefaultPolicy = Policy{MaxShare: 0.5, Floor: 10}

// ErrTooManyDeletes is matched (errors.Is) by every *TooManyDeletesError.
var ErrTooManyDeletes = errors.New("too many deletes")

// TooManyDeletesError is a pass refused by the share rule.
type TooManyDeletesError struct {
	Missing, Held int
	Policy        Policy
}

func (e *TooManyDeletesError) Error() string {
	return fmt.Sprintf("refusing to delete %d of %d held records (%.1f%%): more than the allowed share %.1f%% and more than %d; "+
		"nothing was published (check the Oro connection's permissions, or set Force to override)",
		e.Missing, e.Held, 100*float64(e.Missing)/float64(max(e.Held, 1)), 100*e.Policy.MaxShare, e.Policy.Floor)
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
	return nil
}

// Check allows or refuses deleting missing of held records.
func (p Policy) Check(missing, held int) error {
	if p.Force || missing <= p.Floor {
		return nil
	}
	if float64(missing) > p.MaxShare*float64(held) {
		return &TooManyDeletesError{Missing: missing, Held: held, Policy: p}
	}
	return nil
}

// Tombstones builds one tombstone per missing record. deletedAt is when the pass started (the deletion happened
// before the listing, so no later); LastSeen is the stored version, so every pass that notices the same deletion
// produces the same message id.
func Tombstones(tenant, typ string, missing []Held, deletedAt time.Time) []events.Tombstone {
	out := make([]events.Tombstone, len(missing))
	for i, m := range missing {
		v := m.Version
		out[i] = events.Tombstone{
			RecordRef: events.RecordRef{Tenant: tenant, Type: typ, ID: m.ID},
			DeletedAt: deletedAt.UTC(),
			Reason:    ReasonIDDiff,
			LastSeen:  &v,
		}
	}
	return out
}

// Counts are what one or more passes did.
type Counts struct {
	Listed     int // ids Oro listed
	Held       int // records orosync held as live
	Missing    int // held but not listed
	Published  int // tombstones JetStream acknowledged (Duplicates included)
	Duplicates int // of those, tombstones JetStream already had (an earlier pass noticed the same deletion)
	Unparsable int // held records whose id is not numeric (never tombstoned)
}

// Add sums counts.
func (c Counts) Add(o Counts) Counts {
	return Counts{Listed: c.Listed + o.Listed, Held: c.Held + o.Held, Missing: c.Missing + o.Missing,
		Published: c.Published + o.Published, Duplicates: c.Duplicates + o.Duplicates, Unparsable: c.Unparsable + o.Unparsable}
}
