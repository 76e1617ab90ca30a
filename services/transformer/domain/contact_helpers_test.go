package domain

import (
	"strings"

	"github.com/orosync/orosync/events"
)

// mapContact turns one observed Oro contact version into an upsert of a Mercato person (the default mapping).
func mapContact(raw events.RawRecord) (events.Change, error) {
	r, err := Default().Map(raw)
	if err != nil {
		return events.Change{}, err
	}
	if r.Change == nil {
		return events.Change{}, &FieldError{Record: raw.RecordRef, Field: "type", Rule: "known-type", Detail: r.Skipped}
	}
	return *r.Change, nil
}

// mapTombstone turns a deleted Oro contact into a delete of its person (the default mapping).
func mapTombstone(t events.Tombstone) events.Change {
	c := events.Change{Tenant: t.Tenant, Op: events.OpDelete, Aggregate: events.AggregatePerson, Source: t.RecordRef,
		MappingVersion: MappingVersion}
	if r, err := Default().MapTombstone(t); err == nil && r.Change != nil {
		c = *r.Change
	}
	return c
}

// accounts reports whether the mapping says what happens to a source field of a type.
func (m *Mapping) accounts(report []ReportLine, oroType, field string) bool {
	if _, ok := m.Ignore[oroType]; ok {
		return true
	}
	for _, l := range report {
		if l.Type == oroType && (l.Field == field || strings.HasSuffix(l.Field, ".*") && strings.HasPrefix(field, strings.TrimSuffix(l.Field, "*"))) {
			return true
		}
	}
	return false
}
