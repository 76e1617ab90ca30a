package domain

import (
	"errors"
	"fmt"
	"time"
)

// MaxReportedUnparsable bounds the unparsable ids a pass keeps for its log line.
const MaxReportedUnparsable = 20

// Merge compares, one page at a time, the ids Oro lists (ascending, keyset paging on id) with the ids Mercato holds
// (streamed in the same numeric order). Memory is one page plus what it finds: Missing (held, not listed), up to
// AbsentCap of Absent (listed, not held) and of Stale (listed at a newer updatedAt than the one applied). Neither
// side is ever loaded in full.
type Merge struct {
	next func() (string, time.Time, bool, error)
	skip func(uint64) bool

	cur    HeldID
	have   bool
	ended  bool
	prev   uint64 // last held number read, for the order check
	read   bool
	last   uint64 // last listed id
	listed bool

	// AbsentCap bounds Absent and Stale; further ids are only counted.
	AbsentCap int
	// StaleBefore: a listed updatedAt newer than the applied one counts as stale only when it is before this (a
	// later version may be on its way through the pipeline); zero: always.
	StaleBefore time.Time
	// Missing are held ids Oro does not list, ascending.
	Missing []HeldID
	// Absent are listed ids Mercato does not hold, ascending, at most AbsentCap.
	Absent []uint64
	// Stale are listed ids whose updatedAt (in UpdatedAt) is newer than the version applied, ascending, at most
	// AbsentCap.
	Stale []HeldID
	// UnparsableIDs are up to MaxReportedUnparsable held ids that are not Oro ids (or came out of order); they are
	// left alone.
	UnparsableIDs []string

	Listed, Held, AbsentCount, StaleCount, Unparsable int
}

// NewMerge reads held ids from next (ok false at the end). skip, when set, names ids to treat as not held (the
// audit path tombstoned them this round).
func NewMerge(next func() (id string, ok bool, err error), skip func(uint64) bool) *Merge {
	return NewVersionedMerge(func() (string, time.Time, bool, error) {
		id, ok, err := next()
		return id, time.Time{}, ok, err
	}, skip)
}

// NewVersionedMerge is NewMerge of held ids with the updatedAt of their applied versions.
func NewVersionedMerge(next func() (id string, updatedAt time.Time, ok bool, err error), skip func(uint64) bool) *Merge {
	return &Merge{next: next, skip: skip}
}

// advance reads the next usable held id into cur.
func (m *Merge) advance() error {
	for !m.ended {
		id, at, ok, err := m.next()
		if err != nil {
			return fmt.Errorf("reading held ids: %w", err)
		}
		if !ok {
			m.ended, m.have = true, false
			return nil
		}
		n, err := ParseID(id)
		if err != nil || (m.read && n < m.prev) {
			m.Unparsable++
			if len(m.UnparsableIDs) < MaxReportedUnparsable {
				m.UnparsableIDs = append(m.UnparsableIDs, id)
			}
			continue
		}
		m.prev, m.read = n, true
		if m.skip != nil && m.skip(n) {
			continue
		}
		m.Held++
		m.cur, m.have = HeldID{N: n, ID: id, UpdatedAt: at}, true
		return nil
	}
	m.have = false
	return nil
}

func (m *Merge) start() error {
	if m.read || m.ended || m.have {
		return nil
	}
	return m.advance()
}

// Page merges the next page of listed ids (without versions).
func (m *Merge) Page(ids []string) error {
	listed := make([]Listed, len(ids))
	for i, id := range ids {
		listed[i] = Listed{ID: id}
	}
	return m.PageListed(listed)
}

// PageListed merges the next page of listed ids. It refuses an id that is not numeric or not above the previous
// one: a listing out of order could have skipped rows, and the reconciler never acts on a listing it cannot trust.
func (m *Merge) PageListed(listed []Listed) error {
	if err := m.start(); err != nil {
		return err
	}
	for _, li := range listed {
		s := li.ID
		l, err := ParseID(s)
		if err != nil {
			return fmt.Errorf("listing: %w", err)
		}
		if m.listed && l <= m.last {
			return fmt.Errorf("listing: id %d came after id %d: Oro did not return ids in ascending order", l, m.last)
		}
		m.last, m.listed = l, true
		m.Listed++
		for m.have && m.cur.N < l {
			m.Missing = append(m.Missing, m.cur)
			if err := m.advance(); err != nil {
				return err
			}
		}
		if m.have && m.cur.N == l {
			m.compare(l, li.UpdatedAt)
			for m.have && m.cur.N == l { // "7" and "007" are both record 7
				if err := m.advance(); err != nil {
					return err
				}
			}
			continue
		}
		m.AbsentCount++
		if len(m.Absent) < m.AbsentCap {
			m.Absent = append(m.Absent, l)
		}
	}
	return nil
}

// compare notes listed record l as stale when Oro's updatedAt is newer than the applied one (and before
// StaleBefore).
func (m *Merge) compare(l uint64, listed time.Time) {
	applied := m.cur.UpdatedAt
	if listed.IsZero() || applied.IsZero() || !listed.After(applied) || (!m.StaleBefore.IsZero() && !listed.Before(m.StaleBefore)) {
		return
	}
	m.StaleCount++
	if len(m.Stale) < m.AbsentCap {
		m.Stale = append(m.Stale, HeldID{N: l, ID: m.cur.ID, UpdatedAt: listed})
	}
}

// Last is the highest id listed so far (for filter[id][gt]); ok is false while nothing has been listed.
func (m *Merge) Last() (uint64, bool) { return m.last, m.listed }

// Finish ends a complete listing: every held id not reached is missing.
func (m *Merge) Finish() error {
	if err := m.start(); err != nil {
		return err
	}
	for m.have {
		m.Missing = append(m.Missing, m.cur)
		if err := m.advance(); err != nil {
			return err
		}
	}
	return nil
}

// ErrIncomplete is matched by every listing the reconciler cannot prove complete.
var ErrIncomplete = errors.New("listing incomplete")

// CheckPage checks one page of a keyset listing against X-Include-Total-Count. total is the number of ids after
// the cursor when Oro served the page (-1: Oro did not say), rows the ids the page holds, size the page[size]
// asked for (-1: all). It reports whether the listing is complete with this page; a page that is neither full nor
// holds every counted id is truncated. Paging is keyset on id, so a listing ends only on a page holding every id
// Oro counts after the cursor. Counting per page, not against the first page's total, keeps the check
// exact while records are created and deleted during the listing.
func CheckPage(rows, total, size int) (last bool, err error) {
	switch {
	case total < 0:
		return false, fmt.Errorf("%w: Oro sent no X-Include-Total-Count, so the listing cannot be proven complete", ErrIncomplete)
	case rows == total:
		return true, nil
	case rows > total:
		return false, fmt.Errorf("%w: page holds %d ids but Oro counts %d after the cursor", ErrIncomplete, rows, total)
	case size > 0 && rows == size:
		return false, nil
	case size < 0 && rows > 0:
		// page[size]=-1 silently capped by max_entities: a full page of the cap. Keyset paging goes on from its last
		// id, and the last page's count still has to match.
		return false, nil
	}
	return false, fmt.Errorf("%w: page holds %d ids of the %d Oro counts after the cursor and is not full (page size %d): truncated",
		ErrIncomplete, rows, total, size)
}
