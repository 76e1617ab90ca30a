package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	writer "github.com/orosync/orosync/services/writer/service"
)

func TestConflictsCommandOnTheReviewQueue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := dbtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tid, oid := uuid.MustParse(defaultTenantID), uuid.MustParse(defaultOrgID)
	applier, err := writer.NewApplier(ctx, url, map[string]writer.Scope{"demo": {TenantID: tid, OrganizationID: oid}}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer applier.Close()
	s := func(v string) *string { return &v }
	change := events.Change{Tenant: "demo", Op: events.OpUpsert, Aggregate: events.AggregatePerson,
		Source:         events.RecordRef{Tenant: "demo", Type: "contacts", ID: "42"},
		SourceVersion:  events.SourceVersion{UpdatedAt: time.Unix(1_700_000_000, 0).UTC(), PayloadHash: "a"},
		MappingVersion: "v1", Person: &events.Person{DisplayName: "Ann Lee", FirstName: s("Ann"), LastName: s("Lee")}}
	if _, err := applier.Apply(ctx, []events.Change{change}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE customer_people SET last_name = 'Lee-Local', updated_at = now()`); err != nil {
		t.Fatal(err)
	}
	change.Op, change.Person = events.OpDelete, nil
	if _, err := applier.Apply(ctx, []events.Change{change}); err != nil {
		t.Fatal(err)
	}
	orosync := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append([]string{args[0], args[1], "--database-url", url}, args[2:]...) // flags before positional arguments
		if err := run(ctx, args, &out, &errOut); err != nil {
			t.Fatalf("orosync %v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}
	list := orosync("conflicts", "list")
	if !strings.Contains(list, writer.ConflictDeleteLocalEdit) || !strings.Contains(list, "contacts/42") {
		t.Fatalf("list:\n%s", list)
	}
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	t.Run("shows a conflict", func(t *testing.T) {
		if show := orosync("conflicts", "show", id); !strings.Contains(show, `"Lee-Local"`) {
			t.Errorf("show:\n%s", show)
		}
	})
	t.Run("resolves it as Mercato keeps it", func(t *testing.T) {
		orosync("conflicts", "resolve", id, "mercato")
		if list := orosync("conflicts", "list"); strings.Contains(list, "contacts/42") {
			t.Errorf("still open after resolve:\n%s", list)
		}
		var deleted bool
		if err := pool.QueryRow(ctx, `SELECT deleted_at IS NOT NULL FROM customer_entities`).Scan(&deleted); err != nil || deleted {
			t.Errorf("kept by Mercato, yet deleted=%v (%v)", deleted, err)
		}
	})
}
