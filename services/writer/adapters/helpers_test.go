package adapters_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/services/writer/adapters"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/domain"
)

var scope = adapters.Scope{TenantID: uuid.MustParse("11111111-1111-4111-8111-111111111111"),
	OrganizationID: uuid.MustParse("22222222-2222-4222-8222-222222222222")}

// env is a writer without NATS: the use case and the store on a fresh database.
type env struct {
	t     *testing.T
	ctx   context.Context
	db    *pgxpool.Pool
	url   string
	store *adapters.Store
}

func newEnv(t *testing.T, sc adapters.Scope) *env {
	t.Helper()
	return newEnvOf(t, map[string]adapters.Scope{"acme": sc})
}

// newEnvOf is an env whose store writes for several connections.
func newEnvOf(t *testing.T, scopes map[string]adapters.Scope) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	url := dbtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := adapters.NewStore(pool, scopes, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, db: pool, url: url, store: store}
}

func (e *env) apply(rules domain.Rules, changes ...events.Change) app.Result {
	e.t.Helper()
	r, err := app.ApplyChanges{Store: e.store, Rules: rules}.Handle(e.ctx, changes)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func ptr(s string) *string { return &s }

type contact struct {
	id, first, last, email, job string
	sec                         int
}

func (c contact) change() events.Change {
	p := &events.Person{DisplayName: c.first + " " + c.last, FirstName: ptr(c.first), LastName: ptr(c.last), PrimaryEmail: ptr(c.email)}
	if c.job != "" {
		p.JobTitle = ptr(c.job)
	}
	return events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregatePerson,
		Source:         events.RecordRef{Tenant: "acme", Type: "contacts", ID: c.id},
		SourceVersion:  events.SourceVersion{UpdatedAt: time.Unix(int64(1_700_000_000+c.sec), 0).UTC(), PayloadHash: c.first + c.last + c.email + c.job},
		MappingVersion: "contacts-v1", Person: p}
}

func tombstone(c events.Change) events.Change {
	c.Op, c.Person = events.OpDelete, nil
	return c
}

type person struct {
	entityID             uuid.UUID
	display, first, last string
	email, job           *string
	deleted              bool
	updatedAt            time.Time
}

// externalID is the external id of an Oro record: oroID as given when it names its type ("leads:4"), else of type typ.
func externalID(typ, oroID string) string {
	if strings.Contains(oroID, ":") {
		return oroID
	}
	return typ + ":" + oroID
}

// person reads the Mercato person linked to an Oro contact (or "<type>:<id>" of another Oro type).
func (e *env) person(oroID string) person {
	e.t.Helper()
	var p person
	if err := e.db.QueryRow(e.ctx, `
SELECT en.id, en.display_name, coalesce(pp.first_name, ''), coalesce(pp.last_name, ''), en.primary_email, pp.job_title,
       en.deleted_at IS NOT NULL, en.updated_at
FROM sync_external_id_mappings m JOIN customer_entities en ON en.id = m.internal_entity_id JOIN customer_people pp ON pp.entity_id = en.id
WHERE m.integration_id = 'sync_orocrm' AND m.internal_entity_type = 'customers.person' AND m.external_id = $1`, externalID("contacts", oroID)).
		Scan(&p.entityID, &p.display, &p.first, &p.last, &p.email, &p.job, &p.deleted, &p.updatedAt); err != nil {
		e.t.Fatalf("person of contact %s: %v", oroID, err)
	}
	return p
}

// editInMercato changes a person as a Mercato user would (values and updated_at).
func (e *env) editInMercato(oroID string, at time.Time, entitySet, peopleSet string, args ...any) {
	e.t.Helper()
	id := e.person(oroID).entityID
	if entitySet != "" {
		if _, err := e.db.Exec(e.ctx, `UPDATE customer_entities SET `+entitySet+`, updated_at = $1 WHERE id = $2`, append([]any{at, id}, args...)...); err != nil {
			e.t.Fatal(err)
		}
	}
	if peopleSet != "" {
		if _, err := e.db.Exec(e.ctx, `UPDATE customer_people SET `+peopleSet+`, updated_at = $1 WHERE entity_id = $2`, append([]any{at, id}, args...)...); err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.db.Exec(e.ctx, `UPDATE customer_entities SET updated_at = $1 WHERE id = $2`, at, id); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(e.ctx, q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) openConflicts() []adapters.ConflictRow {
	e.t.Helper()
	cs, err := e.store.Conflicts(e.ctx, "open", 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// oneConnectionWriter is the use case on a fresh database through NewPool's pool limited to one connection, so
// the statistics and settings a test reads from that connection are the writer's own.
func oneConnectionWriter(ctx context.Context, t *testing.T) (*pgxpool.Pool, app.ApplyChanges) {
	t.Helper()
	pool, err := adapters.NewPool(ctx, dbtest.NewDatabase(t)+"&pool_max_conns=1", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := adapters.NewStore(pool, map[string]adapters.Scope{"acme": scope}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pool, app.ApplyChanges{Store: store}
}
