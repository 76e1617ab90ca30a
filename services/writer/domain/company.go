package domain

import (
	"sort"

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
}

// CompanyOutcome is the result of a batch for one company record.
type CompanyOutcome struct {
	Key    Key
	Before *CompanyStored
	After  CompanyStored
	// Changed says whether Mercato's rows (not just the bookkeeping) must be written.
	Changed bool
	Events  []string // created, updated, deleted
	// Addresses are the company's addresses to keep: those of the last version applied, none once deleted.
	Addresses []events.Address
}

// PlanCompanies folds a batch of company changes into one outcome per record with the version rules of Plan
// (older or equal versions are no-ops, a same version under another mapping version is re-applied, a tombstone
// ends the record at a version and only a newer one brings it back). Companies follow oro-wins: Oro's values
// replace Mercato's. Records whose outcome changes nothing are left out.
func PlanCompanies(stored map[Key]*CompanyStored, changes []events.Change) []CompanyOutcome {
	byKey := map[Key][]events.Change{}
	var keys []Key
	for _, c := range changes {
		k := Key{Tenant: c.Tenant, SourceType: c.Source.Type, SourceID: c.Source.ID}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], c)
	}
	var out []CompanyOutcome
	for _, k := range keys {
		cs := byKey[k]
		sort.SliceStable(cs, func(i, j int) bool {
			if c := cs[i].SourceVersion.Compare(cs[j].SourceVersion); c != 0 {
				return c < 0
			}
			return cs[i].Op == events.OpUpsert && cs[j].Op == events.OpDelete
		})
		o := CompanyOutcome{Key: k, Before: stored[k]}
		var cur *CompanyStored
		if o.Before != nil {
			c := *o.Before
			cur = &c
		}
		applied := false
		for _, c := range cs {
			next, evt, ok := applyCompany(cur, c)
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
		if applied {
			o.After = *cur
			out = append(out, o)
		}
	}
	return out
}

func applyCompany(cur *CompanyStored, c events.Change) (*CompanyStored, string, bool) {
	switch c.Op {
	case events.OpUpsert:
		if c.Company == nil {
			return nil, "", false
		}
		in := *c.Company
		if cur == nil {
			return &CompanyStored{Version: c.SourceVersion, MappingVersion: c.MappingVersion, Company: in}, "created", true
		}
		switch decideUpsert(cur.lifecycle(), c) {
		case upsertSkip:
			return nil, "", false
		case upsertIntoTombstone:
			return &CompanyStored{Version: c.SourceVersion, MappingVersion: c.MappingVersion, Deleted: true, Company: in,
				DeletedUpTo: cur.DeletedUpTo}, "", true
		}
		next := &CompanyStored{Version: c.SourceVersion, MappingVersion: c.MappingVersion, Company: in}
		switch {
		case cur.Deleted:
			return next, "created", true
		case !SameCompany(in, cur.Company):
			return next, "updated", true
		default:
			return next, "", true
		}
	case events.OpDelete:
		if cur == nil {
			upTo := c.SourceVersion
			return &CompanyStored{MappingVersion: c.MappingVersion, Deleted: true, Missing: true, DeletedUpTo: &upTo}, "", true
		}
		verdict, upTo := decideDelete(cur.lifecycle(), c)
		if verdict == deleteSkip {
			return nil, "", false
		}
		next := *cur
		next.DeletedUpTo = &upTo
		if verdict == deleteExtend {
			return &next, "", true
		}
		next.Deleted = true
		return &next, "deleted", true
	}
	return nil, "", false
}

// SameCompany compares the mapped values Mercato stores.
func SameCompany(a, b events.Company) bool {
	eq := func(x, y *string) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return a.DisplayName == b.DisplayName && eq(a.LegalName, b.LegalName) && eq(a.WebsiteURL, b.WebsiteURL) &&
		eq(a.Industry, b.Industry) && eq(a.Description, b.Description) && eq(a.PrimaryEmail, b.PrimaryEmail) &&
		eq(a.PrimaryPhone, b.PrimaryPhone)
}
