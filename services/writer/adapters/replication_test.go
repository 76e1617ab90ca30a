package adapters_test

import (
	"context"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/services/writer/adapters"
	"github.com/orosync/orosync/services/writer/app"
)

func TestAReplicationRolePoolWritesPeopleWithTheirLinksWithoutTriggers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := dbtest.NewDatabase(t)
	for _, replica := range []bool{false, true} {
		pool, err := adapters.NewPool(ctx, url, replica)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		var role string
		if err := pool.QueryRow(ctx, `SHOW session_replication_role`).Scan(&role); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{false: "origin", true: "replica"}[replica]; role != want {
			t.Errorf("replicationRole %v: session_replication_role %q, want %q", replica, role, want)
		}
	}
	pool, err := adapters.NewPool(ctx, url, true)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store, err := adapters.NewStore(pool, map[string]adapters.Scope{"acme": scope}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, db: pool, url: url, store: store}
	co := account{id: "5", name: "Analytical", sec: 1}.change()
	ada := withLinks(contact{id: "1", first: "Ada", last: "Lovelace", email: "ada@x.example", sec: 1}.change(), "5", "5")
	if _, err := (app.ApplyChanges{Store: store}).Handle(ctx, []events.Change{co, ada}); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM customer_person_company_links l JOIN customer_entities p ON p.id = l.person_entity_id
JOIN customer_entities c ON c.id = l.company_entity_id WHERE l.is_primary AND l.deleted_at IS NULL`); n != 1 {
		t.Errorf("%d primary links between existing entities, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM customer_people p JOIN customer_entities c ON c.id = p.company_entity_id`); n != 1 {
		t.Errorf("%d people with their primary company, want 1", n)
	}
}
