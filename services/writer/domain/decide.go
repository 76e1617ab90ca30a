// Package domain decides what a batch of changes does to Mercato: pure rules, no I/O.
package domain

import (
	"sort"

	"github.com/orosync/orosync/events"
)

// Key identifies one synced Oro record within a Mercato tenant.
type Key struct {
	Tenant     string // orosync connection
	SourceType string
	SourceID   string
}

// Stored is what Mercato (and orosync's bookkeeping) holds for a record before the batch.
type Stored struct {
	Version        events.SourceVersion
	MappingVersion string
	Deleted        bool
	Person         events.Person
}

// Outcome is the result of a batch for one record: the state to persist and the events that happened.
type Outcome struct {
	Key    Key
	Before *Stored // nil: the record is new to Mercato
	After  Stored
	// Changed says whether Mercato's own rows (not just orosync's bookkeeping) must be written.
	Changed bool
	Events  []string // created, updated, deleted (in order)
}

// Plan folds a batch of changes into one outcome per record. Changes apply in source-version order, whatever
// order they arrived in; a version not newer than what is stored is a no-op (so redelivery converges), except
// that the same version under another mapping version is re-applied (a replay after a mapping change).
// Records whose outcome changes nothing are left out.
func Plan(stored map[Key]*Stored, changes []events.Change) []Outcome {
	byKey := map[Key][]events.Change{}
	var keys []Key
	for _, c := range changes {
		k := Key{Tenant: c.Tenant, SourceType: c.Source.Type, SourceID: c.Source.ID}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], c)
	}
	var out []Outcome
	for _, k := range keys {
		cs := byKey[k]
		sort.SliceStable(cs, func(i, j int) bool {
			if c := cs[i].SourceVersion.Compare(cs[j].SourceVersion); c != 0 {
				return c < 0
			}
			return cs[i].Op == events.OpUpsert && cs[j].Op == events.OpDelete // a delete of version v follows v
		})
		o := Outcome{Key: k, Before: stored[k]}
		var cur *Stored
		if o.Before != nil {
			c := *o.Before
			cur = &c
		}
		touched := false
		for _, c := range cs {
			next, evt, ok := apply(cur, c)
			if !ok {
				continue
			}
			if cur == nil || !SamePerson(next.Person, cur.Person) || next.Deleted != cur.Deleted {
				o.Changed = true
			}
			cur, touched = next, true
			if evt != "" {
				o.Events = append(o.Events, evt)
			}
		}
		if touched && cur != nil {
			o.After = *cur
			out = append(out, o)
		}
	}
	return out
}

// apply returns the state after one change, the event it causes ("" for none) and whether it applies at all.
func apply(cur *Stored, c events.Change) (*Stored, string, bool) {
	switch c.Op {
	case events.OpUpsert:
		if c.Person == nil {
			return nil, "", false
		}
		if cur == nil {
			return &Stored{Version: c.SourceVersion, MappingVersion: c.MappingVersion, Person: *c.Person}, "created", true
		}
		cmp := c.SourceVersion.Compare(cur.Version)
		if cmp < 0 || (cmp == 0 && (c.MappingVersion == cur.MappingVersion || cur.Deleted)) {
			return nil, "", false
		}
		next := &Stored{Version: c.SourceVersion, MappingVersion: c.MappingVersion, Person: *c.Person}
		switch {
		case cur.Deleted:
			return next, "created", true // it came back in Oro
		case !SamePerson(next.Person, cur.Person):
			return next, "updated", true
		default:
			return next, "", true // new version, same Mercato values: bookkeeping only
		}
	case events.OpDelete:
		if cur == nil || cur.Deleted {
			return nil, "", false
		}
		// A tombstone names the last version it saw; a newer version applied since means the record lives on.
		if !c.SourceVersion.UpdatedAt.IsZero() && c.SourceVersion.Compare(cur.Version) < 0 {
			return nil, "", false
		}
		next := *cur
		next.Deleted = true
		return &next, "deleted", true
	}
	return nil, "", false
}

// SamePerson compares mapped values, not pointers.
func SamePerson(a, b events.Person) bool {
	eq := func(x, y *string) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return a.DisplayName == b.DisplayName && eq(a.PrimaryEmail, b.PrimaryEmail) && eq(a.PrimaryPhone, b.PrimaryPhone) &&
		eq(a.FirstName, b.FirstName) && eq(a.LastName, b.LastName) && eq(a.JobTitle, b.JobTitle)
}
