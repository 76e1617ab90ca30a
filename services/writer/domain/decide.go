// Package domain decides what a batch of changes does to Mercato: pure rules, no I/O.
package domain

import (
	"time"

	"github.com/orosync/orosync/events"
)

// Stored is what Mercato (and orosync's bookkeeping) holds for a record before the batch.
type Stored struct {
	Version        events.SourceVersion
	MappingVersion string
	Deleted        bool
	// Person holds Mercato's current values (decrypted), local edits included.
	Person events.Person
	// Base is the snapshot of the Oro values last synced (nil for records written before snapshots existed): a
	// record whose Mercato values differ from it was edited locally.
	Base *events.Person
	// LocalUpdatedAt is Mercato's updated_at of the person (for last-write-wins).
	LocalUpdatedAt time.Time
	// Missing: orosync knows the record only from a tombstone that arrived before any version of it (a reversed
	// or reordered replay); Mercato has no rows of it yet.
	Missing bool
	// DeletedUpTo is the version a tombstone ended the record at (set while Deleted): a version up to it only
	// fills in the deleted record's values, whatever order versions and tombstone arrived in; a newer one
	// brings the record back.
	DeletedUpTo *events.SourceVersion
}

// EditedLocally says whether Mercato's values moved away from what orosync last synced.
func (s *Stored) EditedLocally() bool {
	return s != nil && s.Base != nil && !s.Deleted && !SamePerson(*s.Base, s.Person)
}

// State is what the adapter loaded for a batch: the stored records, and for records new to orosync, the
// unlinked Mercato people whose primary email matches (first-import email match).
type State struct {
	Records    map[Key]*Stored
	Candidates map[Key][]Candidate
}

// Outcome is the result of a batch for one record: the state to persist and the events that happened.
type Outcome struct {
	Key    Key
	Before *Stored // nil: the record is new to orosync
	// Applied says whether After holds a new state to persist; an outcome may carry only conflicts.
	Applied bool
	After   Stored
	// Changed says whether Mercato's own rows (not just orosync's bookkeeping) must be written.
	Changed bool
	Events  []string // created, updated, deleted (in order)
	// Link is the existing Mercato person a new record was linked to by email.
	Link      *Candidate
	Conflicts []Conflict
	// SyncLinks says Links are the person's company links to keep: those of the last version applied, none once
	// the record is deleted. (False for rewrites that do not come from a change, e.g. a conflict resolution.)
	SyncLinks bool
	Links     []events.CompanyLink
	// Addresses are the person's addresses to keep (with SyncLinks), likewise.
	Addresses []events.Address
}

// Plan folds a batch of changes into one outcome per record. Changes apply in source-version order, whatever
// order they arrived in; a version not newer than what is stored is a no-op (so redelivery converges), except
// that the same version under another mapping version is re-applied (a replay after a mapping change). When the
// record was edited in Mercato since the last sync, rules decide (see Policy); what they cannot decide becomes a
// Conflict for the review queue. Records whose outcome changes nothing are left out.
func Plan(state State, rules Rules, changes []events.Change) []Outcome {
	keys, byKey := byRecord(changes)
	out := make([]Outcome, 0, len(keys))
	for _, k := range keys {
		cs := byKey[k]
		o := Outcome{Key: k, Before: state.Records[k]}
		var cur *Stored
		if o.Before != nil {
			c := *o.Before
			cur = &c
		}
		conflicts := map[string]Conflict{}
		for _, c := range cs {
			st := step{rules: rules[c.Aggregate], candidates: state.Candidates[k]}
			if cur == nil && o.Link != nil {
				st.candidates = nil
			}
			next, evt, ok := st.apply(cur, c)
			if st.conflict != nil {
				conflicts[st.conflict.Kind] = *st.conflict
			} else if ok {
				// A later version that applies cleanly settles an earlier conflict of the same kind.
				delete(conflicts, ConflictFieldMerge)
			}
			if !ok {
				continue
			}
			if st.link != nil {
				o.Link = st.link
			}
			if cur == nil || !SamePerson(next.Person, cur.Person) || next.Deleted != cur.Deleted || o.Link != nil {
				o.Changed = true
			}
			cur, o.Applied = next, true
			o.SyncLinks, o.Links, o.Addresses = true, nil, nil
			if !next.Deleted && c.Person != nil {
				o.Links, o.Addresses = c.Person.CompanyLinks, c.Person.Addresses
			}
			if evt != "" {
				o.Events = append(o.Events, evt)
			}
		}
		for _, kind := range []string{ConflictEmailMatch, ConflictFieldMerge, ConflictDeleteLocalEdit} {
			if c, ok := conflicts[kind]; ok {
				o.Conflicts = append(o.Conflicts, c)
			}
		}
		if o.Applied && cur != nil {
			o.After = *cur
		}
		if o.Applied || len(o.Conflicts) > 0 {
			out = append(out, o)
		}
	}
	return out
}

// step applies one change; conflict and link report what it found besides the new state.
type step struct {
	rules      Policies
	candidates []Candidate
	conflict   *Conflict
	link       *Candidate
}

// apply returns the state after one change, the event it causes ("" for none) and whether it applies at all.
func (s *step) apply(cur *Stored, c events.Change) (*Stored, string, bool) {
	switch c.Op {
	case events.OpUpsert:
		if c.Person == nil {
			return nil, "", false
		}
		in := NormalizePerson(*c.Person)
		if cur == nil {
			switch len(s.candidates) {
			case 0:
				return &Stored{Version: c.SourceVersion, MappingVersion: c.MappingVersion, Person: in, Base: &in}, "created", true
			case 1:
				cand := s.candidates[0]
				s.link = &cand
				return &Stored{Version: c.SourceVersion, MappingVersion: c.MappingVersion, Person: LinkPerson(in, cand.Person),
					Base: &in, LocalUpdatedAt: cand.UpdatedAt}, "updated", true
			default:
				s.conflict = &Conflict{Kind: ConflictEmailMatch, Change: c, Candidates: s.candidates}
				return nil, "", false
			}
		}
		switch decideUpsert(cur.lifecycle(), c) {
		case upsertSkip:
			return nil, "", false
		case upsertIntoTombstone:
			return &Stored{Version: c.SourceVersion, MappingVersion: c.MappingVersion, Deleted: true, Person: in, Base: &in,
				DeletedUpTo: cur.DeletedUpTo, LocalUpdatedAt: cur.LocalUpdatedAt}, "", true
		}
		next := &Stored{Version: c.SourceVersion, MappingVersion: c.MappingVersion, Person: in, Base: &in,
			LocalUpdatedAt: cur.LocalUpdatedAt}
		if cur.EditedLocally() {
			merged, review := MergePerson(s.rules, in, cur.Person, *cur.Base, c.SourceVersion.UpdatedAt.After(cur.LocalUpdatedAt))
			next.Person = merged
			if len(review) > 0 {
				local, base := cur.Person, *cur.Base
				s.conflict = &Conflict{Kind: ConflictFieldMerge, Fields: review, Change: c, Local: &local, Base: &base}
			}
		}
		switch {
		case cur.Deleted:
			return next, "created", true // it came back in Oro
		case !SamePerson(next.Person, cur.Person):
			return next, "updated", true
		default:
			return next, "", true // new version, same Mercato values: bookkeeping only
		}
	case events.OpDelete:
		if cur == nil {
			// Remembered, so that older versions arriving later cannot bring the record back.
			upTo := c.SourceVersion
			return &Stored{MappingVersion: c.MappingVersion, Deleted: true, Missing: true, DeletedUpTo: &upTo}, "", true
		}
		verdict, upTo := decideDelete(cur.lifecycle(), c)
		switch verdict {
		case deleteSkip:
			return nil, "", false
		case deleteExtend:
			next := *cur
			next.DeletedUpTo = &upTo
			return &next, "", true
		}
		if cur.EditedLocally() {
			local, base := cur.Person, *cur.Base
			s.conflict = &Conflict{Kind: ConflictDeleteLocalEdit, Change: c, Local: &local, Base: &base}
			return nil, "", false
		}
		next := *cur
		next.Deleted = true
		next.DeletedUpTo = &upTo
		return &next, "deleted", true
	}
	return nil, "", false
}

// SamePerson compares the mapped values Mercato stores in the person's columns (those of PersonFields), not
// pointers.
func SamePerson(a, b events.Person) bool {
	eq := func(x, y *string) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return a.DisplayName == b.DisplayName && eq(a.PrimaryEmail, b.PrimaryEmail) && eq(a.PrimaryPhone, b.PrimaryPhone) &&
		eq(a.FirstName, b.FirstName) && eq(a.LastName, b.LastName) && eq(a.JobTitle, b.JobTitle) &&
		eq(a.Description, b.Description) && eq(a.LinkedInURL, b.LinkedInURL) && eq(a.TwitterURL, b.TwitterURL) &&
		eq(a.Source, b.Source) && eq(a.Status, b.Status)
}
