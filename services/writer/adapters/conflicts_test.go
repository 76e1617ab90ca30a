package adapters_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters"
	"github.com/orosync/orosync/services/writer/domain"
)

func TestBothSidesChangedIsDecidedByThePolicyOfTheEntityTypeOrField(t *testing.T) {
	e := newEnv(t, scope)
	mercatoLater := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) // after Oro's version (2023)
	mercatoEarlier := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		name           string
		rules          domain.Policies
		localAt        time.Time
		wantLast       string
		wantJob        string
		wantConflicted []string
	}{
		{"oro-wins", domain.Policies{Default: domain.OroWins}, mercatoLater, "Lee-Smith", "Director", nil},
		{"mercato-wins", domain.Policies{Default: domain.MercatoWins}, mercatoEarlier, "Lee", "Manager", nil},
		{"last-write-wins, Mercato later", domain.Policies{Default: domain.LastWriteWins}, mercatoLater, "Lee", "Manager", nil},
		{"last-write-wins, Oro later", domain.Policies{Default: domain.LastWriteWins}, mercatoEarlier, "Lee-Smith", "Director", nil},
		{"merge: a field changed on both sides goes to review", domain.Policies{Default: domain.Merge}, mercatoLater, "Lee-Smith", "Manager", []string{"jobTitle"}},
		{"merge with a field policy", domain.Policies{Default: domain.Merge, Fields: map[string]domain.Policy{"jobTitle": domain.OroWins}}, mercatoLater, "Lee-Smith", "Director", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			id := string(rune('a' + i))
			e.apply(nil, contact{id: id, first: "Ann", last: "Lee", email: id + "@example.com", job: "Engineer", sec: 10}.change())
			e.editInMercato(id, tc.localAt, "", "job_title = $3", "Manager")
			rules := domain.Rules{events.AggregatePerson: tc.rules}
			e.apply(rules, contact{id: id, first: "Ann", last: "Lee-Smith", email: id + "@example.com", job: "Director", sec: 20}.change())
			p := e.person(id)
			if p.last != tc.wantLast || deref(p.job) != tc.wantJob {
				t.Errorf("last name %q, job %q; want %q, %q", p.last, deref(p.job), tc.wantLast, tc.wantJob)
			}
			var conflicted []string
			for _, c := range e.openConflicts() {
				if c.SourceID == id {
					conflicted = append(conflicted, c.Fields...)
				}
			}
			if !slices.Equal(conflicted, tc.wantConflicted) {
				t.Errorf("conflicting fields %v, want %v", conflicted, tc.wantConflicted)
			}
		})
	}
}

func TestFieldsChangedOnOneSideOnlyMergeWithoutReview(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", job: "Engineer", sec: 10}.change())
	e.editInMercato("1", time.Now(), "", "job_title = $3", "Manager")
	merge := domain.Rules{events.AggregatePerson: {Default: domain.Merge}}
	e.apply(merge, contact{id: "1", first: "Ann", last: "Lee-Smith", email: "ann@example.com", job: "Engineer", sec: 20}.change())
	if p := e.person("1"); p.last != "Lee-Smith" || deref(p.job) != "Manager" || p.display != "Ann Lee-Smith" {
		t.Errorf("merged person %+v (job %s)", p, deref(p.job))
	}
	// The local edit survives further Oro versions too: the snapshot, not Mercato's values, is the base.
	e.apply(merge, contact{id: "1", first: "Anne", last: "Lee-Smith", email: "ann@example.com", job: "Engineer", sec: 30}.change())
	if p := e.person("1"); p.first != "Anne" || deref(p.job) != "Manager" {
		t.Errorf("second merge %+v (job %s)", p, deref(p.job))
	}
	if cs := e.openConflicts(); len(cs) != 0 {
		t.Errorf("conflicts %+v", cs)
	}
}

func TestAFieldConflictIsQueuedWithAnEventThenResolvedForOro(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", job: "Engineer", sec: 10}.change())
	e.editInMercato("1", time.Now(), "", "job_title = $3", "Manager")
	merge := domain.Rules{events.AggregatePerson: {Default: domain.Merge}}
	r := e.apply(merge, contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", job: "Director", sec: 20}.change())
	// A redelivery of the same version neither queues a second entry nor a second event.
	e.apply(merge, contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", job: "Director", sec: 20}.change())
	cs := e.openConflicts()
	if r.Conflicts != 1 || len(cs) != 1 || cs[0].Kind != domain.ConflictFieldMerge || deref(cs[0].Local.JobTitle) != "Manager" ||
		deref(cs[0].Base.JobTitle) != "Engineer" || deref(cs[0].Change.Person.JobTitle) != "Director" {
		t.Fatalf("result %+v, conflicts %+v", r, cs)
	}
	if n := e.count(`SELECT count(*) FROM orosync_outbox WHERE event_type = $1`, adapters.EventConflictOpened); n != 1 {
		t.Errorf("%d conflict events, want 1", n)
	}
	if err := e.store.Resolve(e.ctx, cs[0].ID, "bogus"); !errors.Is(err, adapters.ErrBadResolution) {
		t.Errorf("bogus resolution: %v", err)
	}
	if err := e.store.Resolve(e.ctx, cs[0].ID, adapters.TakeOro); err != nil {
		t.Fatal(err)
	}
	if p := e.person("1"); deref(p.job) != "Director" {
		t.Errorf("after resolving for Oro: job %s", deref(p.job))
	}
	if got, err := e.store.Conflict(e.ctx, cs[0].ID); err != nil || got.Status != "resolved" || deref(got.Resolution) != "oro" {
		t.Errorf("conflict after resolve: %+v %v", got, err)
	}
	if n := e.count(`SELECT count(*) FROM orosync_outbox WHERE event_type IN ('customers.person.updated', $1)`, adapters.EventConflictResolved); n != 2 {
		t.Errorf("%d update+resolved events after resolving, want 2", n)
	}
}

// nativePerson inserts a person as Mercato's own UI would, not linked to any Oro contact.
func (e *env) nativePerson(first, last, email, phone string) uuid.UUID {
	e.t.Helper()
	id, now := uuid.New(), time.Now()
	if _, err := e.db.Exec(e.ctx, `INSERT INTO customer_entities (id, organization_id, tenant_id, kind, display_name, primary_email,
  primary_phone, is_active, created_at, updated_at) VALUES ($1, $2, $3, 'person', $4, $5, $6, true, $7, $7)`,
		id, scope.OrganizationID, scope.TenantID, first+" "+last, email, phone, now); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.Exec(e.ctx, `INSERT INTO customer_people (id, organization_id, tenant_id, entity_id, first_name, last_name,
  created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, uuid.New(), scope.OrganizationID, scope.TenantID, id, first, last, now); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func TestFirstImportWithOneEmailCandidateMergesIntoIt(t *testing.T) {
	e := newEnv(t, scope)
	native := e.nativePerson("Kim", "Park", "kim@example.com", "+1 555 0100")
	r := e.apply(nil, contact{id: "5", first: "Kim", last: "Park", email: "Kim@Example.com", job: "CTO", sec: 10}.change())
	p := e.person("5")
	if p.entityID != native || deref(p.job) != "CTO" || r.Created != 0 || r.Updated != 1 {
		t.Errorf("linked person %+v (job %s), result %+v", p, deref(p.job), r)
	}
	if n := e.count(`SELECT count(*) FROM customer_entities WHERE primary_phone = '+1 555 0100'`); n != 1 {
		t.Errorf("Mercato's phone lost or person duplicated: %d", n)
	}
	if n := e.count(`SELECT count(*) FROM customer_entities`); n != 1 {
		t.Errorf("%d people, want 1", n)
	}
}

func TestFirstImportWithSeveralEmailCandidatesGoesToReview(t *testing.T) {
	e := newEnv(t, scope)
	first := e.nativePerson("Kim", "Park", "kim@example.com", "")
	e.nativePerson("Kim", "Park-Lee", "kim@example.com", "")
	change := contact{id: "5", first: "Kim", last: "Park", email: "kim@example.com", sec: 10}.change()
	if r := e.apply(nil, change); r.Conflicts != 1 || r.Created != 0 {
		t.Fatalf("result %+v", r)
	}
	cs := e.openConflicts()
	if len(cs) != 1 || cs[0].Kind != domain.ConflictEmailMatch || len(cs[0].Candidates) != 2 {
		t.Fatalf("conflicts %+v", cs)
	}
	if n := e.count(`SELECT count(*) FROM sync_external_id_mappings`); n != 0 {
		t.Errorf("linked before review: %d mappings", n)
	}
	if err := e.store.Resolve(e.ctx, cs[0].ID, adapters.LinkPrefix+first.String()); err != nil {
		t.Fatal(err)
	}
	if p := e.person("5"); p.entityID != first {
		t.Errorf("linked to %s, want %s", p.entityID, first)
	}
	// Later versions apply to the linked person as usual.
	e.apply(nil, contact{id: "5", first: "Kim", last: "Park", email: "kim@example.com", job: "CEO", sec: 20}.change())
	if p := e.person("5"); deref(p.job) != "CEO" || e.count(`SELECT count(*) FROM customer_entities`) != 2 {
		t.Errorf("after link: %+v", p)
	}
}

func TestDeleteOfALocallyEditedRecordGoesToReview(t *testing.T) {
	e := newEnv(t, scope)
	edited := contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", sec: 10}.change()
	untouched := contact{id: "2", first: "Bob", last: "Ray", email: "bob@example.com", sec: 10}.change()
	e.apply(nil, edited, untouched)
	e.editInMercato("1", time.Now(), "primary_phone = $3", "", "+44 20 7946 0000")
	r := e.apply(nil, tombstone(edited), tombstone(untouched))
	if r.Deleted != 1 || r.Conflicts != 1 {
		t.Errorf("result %+v", r)
	}
	if !e.person("2").deleted || e.person("1").deleted {
		t.Errorf("untouched deleted %v, edited deleted %v", e.person("2").deleted, e.person("1").deleted)
	}
	cs := e.openConflicts()
	if len(cs) != 1 || cs[0].Kind != domain.ConflictDeleteLocalEdit || cs[0].SourceID != "1" || cs[0].EntityID == nil {
		t.Fatalf("conflicts %+v", cs)
	}
	if err := e.store.Resolve(e.ctx, cs[0].ID, adapters.TakeOro); err != nil {
		t.Fatal(err)
	}
	if !e.person("1").deleted {
		t.Error("resolving for Oro did not delete")
	}
	var payload string
	if err := e.db.QueryRow(e.ctx, `SELECT payload::text FROM orosync_outbox WHERE event_type = $1`, adapters.EventConflictResolved).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	var ev adapters.ConflictEvent
	if err := json.Unmarshal([]byte(payload), &ev); err != nil || ev.Resolution != "oro" || ev.SyncOrigin != events.SyncOrigin {
		t.Errorf("resolved event %s: %v", payload, err)
	}
}

func TestJobTitlesWrittenAreEnsuredInMercatosDictionary(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", job: " Engineer ", sec: 10}.change(),
		contact{id: "2", first: "Bob", last: "Ray", email: "bob@example.com", job: "engineer", sec: 10}.change(),
		contact{id: "3", first: "Cid", last: "Ux", email: "cid@example.com", job: "CTO", sec: 10}.change())
	e.apply(nil, contact{id: "4", first: "Dan", last: "Vo", email: "dan@example.com", job: "CTO", sec: 10}.change())
	if n := e.count(`SELECT count(*) FROM customer_dictionary_entries WHERE kind = 'job_title' AND tenant_id = $1`, scope.TenantID); n != 2 {
		t.Errorf("%d job title entries, want 2 (engineer, cto)", n)
	}
	if n := e.count(`SELECT count(*) FROM customer_dictionary_entries WHERE normalized_value = 'engineer' AND label = value`); n != 1 {
		t.Errorf("engineer entry missing or mislabelled")
	}
}
