package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb"
	"github.com/orosync/orosync/mercatodb/dbtest"
	writer "github.com/orosync/orosync/services/writer/service"
)

func TestStatusCountsRecordsWhoseOwnerMatchesNoMercatoUser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := dbtest.NewDatabase(t)
	tid, oid := uuid.MustParse(defaultTenantID), uuid.MustParse(defaultOrgID)
	applier, err := writer.NewApplier(ctx, url, map[string]writer.Scope{"demo": {TenantID: tid, OrganizationID: oid}}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer applier.Close()
	s := func(v string) *string { return &v }
	var changes []events.Change
	for _, c := range []struct{ typ, id, owner string }{{"contacts", "1", "7"}, {"contacts", "2", "7"}, {"leads", "3", "8"}, {"contacts", "4", ""}} {
		p := &events.Person{DisplayName: "P " + c.id, FirstName: s("P"), LastName: s(c.id)}
		if c.owner != "" {
			p.Owner = &events.OroRef{Type: "users", ID: c.owner}
		}
		changes = append(changes, events.Change{Tenant: "demo", Op: events.OpUpsert, Aggregate: events.AggregatePerson,
			Source:         events.RecordRef{Tenant: "demo", Type: c.typ, ID: c.id},
			SourceVersion:  events.SourceVersion{UpdatedAt: time.Unix(1_700_000_000, 0).UTC(), PayloadHash: c.id},
			MappingVersion: "v1", Person: p})
	}
	if _, err := applier.Apply(ctx, changes); err != nil {
		t.Fatal(err)
	}
	db, err := mercatodb.OpenDB(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	for typ, want := range map[string]int{"contacts": 2, "leads": 1, "accounts": 0} {
		if n, err := unmatchedOwners(ctx, db, tid, oid, typ); err != nil || n != want {
			t.Errorf("unmatched owners of %s = %d, %v; want %d", typ, n, err, want)
		}
	}
}
