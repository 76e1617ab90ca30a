package domain

import (
	"time"

	"github.com/orosync/orosync/events"
)

// CompanyStored is what Mercato (and orosync's bookkeeping) holds for a company record before the batch.
type CompanyStored struct {
	Version        events.SourceVersion
	MappingVersion string
	Deleted        bool
	// Missing: known from a tombstone only (no Mercato rows yet).
	Missing     bool
	DeletedUpTo *events.SourceVersion
	Company     events.Company
	// Base is the Oro values last synced (the snapshot), nil when unknown.
	Base *events.Company
	// LocalUpdatedAt is Mercato's updated_at of the company (for last-write-wins).
	LocalUpdatedAt time.Time
}

// EditedLocally says whether Mercato's values moved away from what orosync last synced.
func (s *CompanyStored) EditedLocally() bool {
	return s != nil && s.Base != nil && !s.Deleted && !s.Missing && !SameCompany(*s.Base, s.Company)
}

// CompanyOutcome is the result of a batch for one company record.
type CompanyOutcome struct {
	Key    Key
	Before *CompanyStored
	// Applied says whether After holds a new state to persist; an outcome may carry only conflicts.
	Applied bool
	After   CompanyStored
	// Changed says whether Mercato's rows (not just the bookkeeping) must be written.
	Changed bool
	Events  []string // created, updated, deleted
	// Addresses are the company's addresses to keep: those of the last version applied, none once deleted.
	Addresses []events.Address
	// Conflicts for the review queue (field-merge, delete-local-edit).
	Conflicts []Conflict
	// Salt distinguishes the event ids of a second write of the same version (a conflict resolution).
	Salt string
}

// PlanCompanies folds a batch of company changes into one outcome per record with the version rules of Plan
// (older or equal versions are no-ops, a same version under another mapping version is re-applied, a tombstone
// ends the record at a version and only a newer one brings it back). A company edited in Mercato since the last
// sync is merged under rules, as people are (MergeCompany); what they cannot decide, and the deletion of a
// locally edited company, become conflicts. Records whose outcome changes nothing are left out.
func PlanCompanies(stored map[Key]*CompanyStored, rules Policies, changes []events.Change) []CompanyOutcome {
	keys, byKey := byRecord(changes)
	var out []CompanyOutcome
	for _, k := range keys {
		cs := byKey[k]
		o := CompanyOutcome{Key: k, Before: stored[k]}
		var cur *CompanyStored
		if o.Before != nil {
			c := *o.Before
			cur = &c
		}
		applied := false
		conflicts := map[string]Conflict{}
		for _, c := range cs {
			next, evt, ok, conflict := applyCompany(cur, c, rules)
			if conflict != nil {
				conflicts[conflict.Kind] = *conflict
			} else if ok {
				delete(conflicts, ConflictFieldMerge) // a later version that applies cleanly settles it
			}
			if !ok {
				continue
			}
			if cur == nil || cur.Missing != next.Missing || !SameCompany(next.Company, cur.Company) || next.Deleted != cur.Deleted {
				o.Changed = true
			}
			cur, applied = next, true
			o.Addresses = nil
			if !next.Deleted && c.Company != nil {
				o.Addresses = c.Company.Addresses
			}
			if evt != "" {
				o.Events = append(o.Events, evt)
			}
		}
		for _, kind := range []string{ConflictFieldMerge, ConflictDeleteLocalEdit} {
			if c, ok := conflicts[kind]; ok {
				o.Conflicts = append(o.Conflicts, c)
			}
		}
		if applied {
			o.After, o.Applied = *cur, true
		} else if o.Before != nil {
			o.After = *o.Before
		}
		if applied || len(o.Conflicts) > 0 {
			out = append(out, o)
		}
	}
	return out
}

func applyCompany(cur *CompanyStored, c events.Change, rules Policies) (*CompanyStored, string, bool, *Conflict) {
	switch c.Op {
	case events.OpUpsert:
		if c.Company == nil {
			return nil, "", false, nil
		}
		in := NormalizeCompany(*c.Company)
		if cur == nil {
			return &CompanyStored{Version: c.SourceVersion, MappingVersion: c.MappingVersion, Company: in, Base: &in}, "created", true, nil
		}
		switch decideUpsert(cur.lifecycle(), c) {
		case upsertSkip:
			return nil, "", false, nil
		case upsertIntoTombstone:
			return &CompanyStored{Version: c.SourceVersion, MappingVersion: c.MappingVersion, Deleted: true, Company: in, Base: &in,
				DeletedUpTo: cur.DeletedUpTo, LocalUpdatedAt: cur.LocalUpdatedAt}, "", true, nil
		}
		next := &CompanyStored{Version: c.SourceVersion, MappingVersion: c.MappingVersion, Company: in, Base: &in,
			LocalUpdatedAt: cur.LocalUpdatedAt}
		var conflict *Conflict
		if cur.EditedLocally() {
			merged, review := MergeCompany(rules, in, cur.Company, *cur.Base, c.SourceVersion.UpdatedAt.After(cur.LocalUpdatedAt))
			next.Company = merged
			if len(review) > 0 {
				local, base := cur.Company, *cur.Base
				conflict = &Conflict{Kind: ConflictFieldMerge, Fields: review, Change: c, LocalCompany: &local, BaseCompany: &base}
			}
		}
		switch {
		case cur.Deleted:
			return next, "created", true, conflict
		case !SameCompany(next.Company, cur.Company):
			return next, "updated", true, conflict
		default:
			return next, "", true, conflict
		}
	case events.OpDelete:
		if cur == nil {
			upTo := c.SourceVersion
			return &CompanyStored{MappingVersion: c.MappingVersion, Deleted: true, Missing: true, DeletedUpTo: &upTo}, "", true, nil
		}
		verdict, upTo := decideDelete(cur.lifecycle(), c)
		if verdict == deleteSkip {
			return nil, "", false, nil
		}
		next := *cur
		next.DeletedUpTo = &upTo
		if verdict == deleteExtend {
			return &next, "", true, nil
		}
		if cur.EditedLocally() {
			local, base := cur.Company, *cur.Base
			return nil, "", false, &Conflict{Kind: ConflictDeleteLocalEdit, Change: c, LocalCompany: &local, BaseCompany: &base}
		}
		next.Deleted = true
		return &next, "deleted", true, nil
	}
	return nil, "", false, nil
}

// SameCompany compares the mapped values Mercato stores.
func SameCompany(a, b events.Company) bool {
	eq := func(x, y *string) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return a.DisplayName == b.DisplayName && eq(a.LegalName, b.LegalName) && eq(a.WebsiteURL, b.WebsiteURL) &&
		eq(a.Industry, b.Industry) && eq(a.Description, b.Description) && eq(a.PrimaryEmail, b.PrimaryEmail) &&
		eq(a.PrimaryPhone, b.PrimaryPhone)
}
