package adapters_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters"
)

// dealPlace is where a deal sits on Mercato's board: its pipeline's name, its stage's name (empty when the stage is
// not one of that pipeline's), the legacy pipeline_stage text and closure_outcome.
type dealPlace struct {
	pipelineID, pipeline, stage string
	legacy, closure             *string
}

func (e *env) dealPlace(oroID string) dealPlace {
	e.t.Helper()
	id, _ := e.mapped(events.AggregateDeal, "opportunities:"+oroID)
	var p dealPlace
	if err := e.db.QueryRow(e.ctx, `
SELECT coalesce(d.pipeline_id::text, ''), coalesce(p.name, ''), coalesce(s.name, ''), d.pipeline_stage, d.closure_outcome
FROM customer_deals d
LEFT JOIN customer_pipelines p ON p.id = d.pipeline_id
LEFT JOIN customer_pipeline_stages s ON s.id = d.pipeline_stage_id AND s.pipeline_id = d.pipeline_id
WHERE d.id = $1`, id).Scan(&p.pipelineID, &p.pipeline, &p.stage, &p.legacy, &p.closure); err != nil {
		e.t.Fatalf("place of deal %s: %v", oroID, err)
	}
	return p
}

// statusDeal is opportunity id at version sec with a status.
func statusDeal(id string, sec int, status string) events.Change {
	c := dealChange(id, sec, "Deal "+id, nil, nil)
	c.Deal.Status = status
	return c
}

// stages lists a pipeline's stages by position: "name@position,...".
func (e *env) stages(pipelineID string) string {
	e.t.Helper()
	var s string
	if err := e.db.QueryRow(e.ctx, `SELECT coalesce(string_agg(name || '@' || position, ',' ORDER BY position, name), '')
FROM customer_pipeline_stages WHERE pipeline_id = $1`, pipelineID).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// addPipeline creates a pipeline as a Mercato admin would (random id), with stages at positions 0, 1, ...
func (e *env) addPipeline(name string, isDefault bool, stages ...string) string {
	e.t.Helper()
	id := uuid.NewString()
	now := time.Now()
	if _, err := e.db.Exec(e.ctx, `INSERT INTO customer_pipelines (id, organization_id, tenant_id, name, is_default, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $6)`, id, scope.OrganizationID, scope.TenantID, name, isDefault, now); err != nil {
		e.t.Fatal(err)
	}
	for i, s := range stages {
		if _, err := e.db.Exec(e.ctx, `INSERT INTO customer_pipeline_stages (organization_id, tenant_id, pipeline_id, name, position,
       created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)`, scope.OrganizationID, scope.TenantID, id, s, i, now); err != nil {
			e.t.Fatal(err)
		}
	}
	return id
}

func closureIs(got *string, want string) bool {
	if want == "" {
		return got == nil
	}
	return got != nil && *got == want
}

func TestSyncedDealsLandOnTheOroCRMPipelineStageOfTheirStatus(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, statusDeal("1", 10, "open"), statusDeal("2", 10, "win"), statusDeal("3", 10, "loose"),
		statusDeal("4", 10, "in_progress"), statusDeal("5", 10, "")) // no status: Mercato's default, open
	for _, c := range []struct{ id, stage, closure string }{
		{"1", "open", ""}, {"2", "win", "won"}, {"3", "loose", "lost"}, {"4", "in_progress", ""}, {"5", "open", ""},
	} {
		p := e.dealPlace(c.id)
		if p.pipeline != "OroCRM" || p.stage != c.stage || deref(p.legacy) != c.stage || !closureIs(p.closure, c.closure) {
			t.Errorf("deal %s on %q/%q (legacy %s, closure %s), want OroCRM/%s, closure %q", c.id, p.pipeline, p.stage,
				deref(p.legacy), deref(p.closure), c.stage, c.closure)
		}
	}
	if n := e.count(`SELECT count(*) FROM customer_pipelines WHERE organization_id = $1 AND tenant_id = $2 AND is_default`,
		scope.OrganizationID, scope.TenantID); n != 1 {
		t.Errorf("%d default pipelines, want the OroCRM one (the scope had none)", n)
	}
	if got, want := e.stages(e.dealPlace("1").pipelineID), "open@0,in_progress@1,win@1073741824,loose@1073741825"; got != want {
		t.Errorf("stages %s, want %s", got, want)
	}
	if n := e.count(`SELECT count(*) FROM customer_pipeline_stages WHERE organization_id = $1 AND tenant_id = $2`,
		scope.OrganizationID, scope.TenantID); n != 4 {
		t.Errorf("%d stages in the scope, want 4", n)
	}
	for _, kind := range []string{"pipeline_stage", "deal_status"} {
		if n := e.count(`SELECT count(*) FROM customer_dictionary_entries WHERE kind = $1 AND normalized_value IN ('open', 'in_progress', 'win', 'loose')`,
			kind); n != 4 {
			t.Errorf("%d %s dictionary entries, want 4", n, kind)
		}
	}
}

func TestADealStatusChangeMovesItToItsStageWithItsClosureOutcome(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, statusDeal("9", 10, "open"))
	for i, c := range []struct{ status, closure string }{{"win", "won"}, {"loose", "lost"}, {"open", ""}, {"negotiation", ""}} {
		e.apply(nil, statusDeal("9", 20+i, c.status))
		p := e.dealPlace("9")
		if p.pipeline != "OroCRM" || p.stage != c.status || deref(p.legacy) != c.status || !closureIs(p.closure, c.closure) {
			t.Errorf("after a move to %s: on %q/%q (legacy %s, closure %s)", c.status, p.pipeline, p.stage, deref(p.legacy), deref(p.closure))
		}
	}
	// A value other than Mercato's sits between the open ones and the closed ones.
	if got, want := e.stages(e.dealPlace("9").pipelineID), fmt.Sprintf("open@0,negotiation@%d,win@1073741824,loose@1073741825",
		2+int('n')<<16+int('e')<<8+int('g')); got != want {
		t.Errorf("stages %s, want %s", got, want)
	}
	if w, l := len(e.events("customers.deal.won")), len(e.events("customers.deal.lost")); w != 1 || l != 1 {
		t.Errorf("%d won and %d lost events, want 1 each", w, l)
	}
	// A deleted deal keeps its place; one first written deleted gets one too.
	e.apply(nil, recordTombstone(statusDeal("9", 0, ""), 40))
	if p := e.dealPlace("9"); p.stage != "negotiation" {
		t.Errorf("deleted deal on stage %q", p.stage)
	}
	e.apply(nil, recordTombstone(statusDeal("10", 0, ""), 40), statusDeal("10", 30, "win"))
	if p := e.dealPlace("10"); p.stage != "win" || !closureIs(p.closure, "won") {
		t.Errorf("deal first written deleted on %q, closure %s", p.stage, deref(p.closure))
	}
}

func TestAStageMovedInMercatoStaysUntilOrosNextVersion(t *testing.T) {
	e := newEnv(t, scope)
	v1 := dealChange("9", 10, "Deal", []events.OroRef{ref("contacts", "1")}, nil)
	e.apply(nil, v1)
	p := e.dealPlace("9")
	dealID, _ := e.mapped(events.AggregateDeal, "opportunities:9")
	// A Mercato user drags the deal to a stage of their own in the OroCRM pipeline.
	var own string
	if err := e.db.QueryRow(e.ctx, `INSERT INTO customer_pipeline_stages (organization_id, tenant_id, pipeline_id, name, position,
       created_at, updated_at) VALUES ($1, $2, $3, 'Demo booked', 5, now(), now()) RETURNING id::text`,
		scope.OrganizationID, scope.TenantID, p.pipelineID).Scan(&own); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(e.ctx, `UPDATE customer_deals SET pipeline_stage_id = $1, pipeline_stage = 'Demo booked', updated_at = now()
WHERE id = $2`, own, dealID); err != nil {
		t.Fatal(err)
	}
	// The deal's contact arrives: the deal is reconciled again for its link only.
	e.apply(nil, contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", sec: 1}.change())
	if d := e.deal(dealID); len(d.people) != 1 {
		t.Fatalf("deal links %v after its contact", d.people)
	}
	if p := e.dealPlace("9"); p.stage != "Demo booked" || deref(p.legacy) != "Demo booked" {
		t.Errorf("a link resolved moved the deal from the stage set in Mercato to %q (legacy %s)", p.stage, deref(p.legacy))
	}
	// Redelivery of the same version changes nothing either; Oro's next version puts the deal on its status's stage.
	e.apply(nil, v1)
	if p := e.dealPlace("9"); p.stage != "Demo booked" {
		t.Errorf("a redelivered version moved the deal to %q", p.stage)
	}
	e.apply(nil, dealChange("9", 20, "Deal", []events.OroRef{ref("contacts", "1")}, nil)) // same values, only the place differs
	if p := e.dealPlace("9"); p.stage != "open" || deref(p.legacy) != "open" {
		t.Errorf("Oro's next version left the deal on %q (legacy %s), want open", p.stage, deref(p.legacy))
	}
	if n := e.count(`SELECT count(*) FROM customer_pipeline_stages WHERE name = 'Demo booked'`); n != 1 {
		t.Errorf("%d stages named like the Mercato user's, want theirs only", n)
	}
}

func TestTheDealBoard(t *testing.T) {
	e := newEnv(t, scope)
	var all []events.Change
	for batch, status := range []string{"open", "win", "open", "win"} {
		var cs []events.Change
		for i := range 3 {
			cs = append(cs, statusDeal(fmt.Sprint(batch*3+i), 10, status))
		}
		e.apply(nil, cs...)
		all = append(all, cs...)
	}
	if n := e.count(`SELECT count(*) FROM customer_pipelines`); n != 1 {
		t.Fatalf("%d pipelines after four batches, want 1", n)
	}
	t.Run("are created once across batches", func(t *testing.T) {
		pipelineID := e.dealPlace("0").pipelineID
		if got := e.stages(pipelineID); got != "open@0,win@1073741824" {
			t.Errorf("stages %s after four batches", got)
		}
		if p := e.dealPlace("9"); p.pipelineID != pipelineID || p.stage != "win" || !closureIs(p.closure, "won") {
			t.Errorf("deal of the fourth batch on %s/%q (closure %s)", p.pipelineID, p.stage, deref(p.closure))
		}
		if n := e.count(`SELECT count(*) FROM customer_dictionary_entries WHERE kind = 'pipeline_stage'`); n != 2 {
			t.Errorf("%d pipeline_stage dictionary entries, want 2", n)
		}
	})
	t.Run("are not rewritten by a replay", func(t *testing.T) {
		// A replay under a new mapping with the same values rewrites no deal, pipeline or stage, and adds none.
		versions := map[string]map[string]string{}
		for _, tbl := range []string{"customer_deals", "customer_pipelines", "customer_pipeline_stages", "customer_dictionary_entries"} {
			versions[tbl] = e.rowVersions(tbl)
		}
		for _, c := range all {
			c.MappingVersion = "oro-v2"
			e.apply(nil, c)
		}
		for tbl, before := range versions {
			after := e.rowVersions(tbl)
			if n := rewrites(before, after); n != 0 || len(after) != len(before) {
				t.Errorf("the replay rewrote %d rows of %s and added %d", n, tbl, len(after)-len(before))
			}
		}
		if n := len(e.events("customers.deal.updated")); n != 0 {
			t.Errorf("%d updated events for a replay with the same values", n)
		}
	})
}

// Every deal batch takes the tenant's reference lock too, so this checks that writers sharing a database end with
// one pipeline and one stage per value, whichever lock keeps them apart.
func TestConcurrentWritersShareOnePipelineWithOneStagePerStatus(t *testing.T) {
	e := newEnv(t, scope)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		store, err := adapters.NewStore(e.db, map[string]adapters.Scope{"acme": scope}, nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cs []events.Change
			for i, status := range []string{"open", "win", "loose", "negotiation"} {
				cs = append(cs, statusDeal(fmt.Sprint(w*10+i), 10, status))
			}
			if _, err := store.ApplyDeals(e.ctx, cs); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM customer_pipelines`); n != 1 {
		t.Errorf("%d pipelines, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM customer_pipeline_stages`); n != 4 {
		t.Errorf("%d stages, want 4", n)
	}
	if n := e.count(`SELECT count(DISTINCT pipeline_stage_id) FROM customer_deals WHERE pipeline_stage_id IS NOT NULL`); n != 4 {
		t.Errorf("deals on %d stages, want 4", n)
	}
}

func TestAnExistingDefaultPipeline(t *testing.T) {
	e := newEnv(t, scope)
	sales := e.addPipeline("Sales", true, "open", "won")
	salesRows := e.rowVersions("customer_pipelines")
	e.apply(nil, statusDeal("1", 10, "open"))
	p := e.dealPlace("1")
	if p.pipeline != "OroCRM" || p.pipelineID == sales || p.stage != "open" {
		t.Fatalf("deal on %q (%s) / %q, want a new OroCRM pipeline", p.pipeline, p.pipelineID, p.stage)
	}
	t.Run("stays the default next to the OroCRM pipeline added", func(t *testing.T) {
		var oroDefault, salesDefault bool
		if err := e.db.QueryRow(e.ctx, `SELECT (SELECT is_default FROM customer_pipelines WHERE id = $1),
	       (SELECT is_default FROM customer_pipelines WHERE id = $2)`, p.pipelineID, sales).Scan(&oroDefault, &salesDefault); err != nil {
			t.Fatal(err)
		}
		if oroDefault || !salesDefault {
			t.Errorf("OroCRM default %v, Sales default %v; want the admin's default kept", oroDefault, salesDefault)
		}
	})
	t.Run("is not rewritten, nor its stages", func(t *testing.T) {
		if after := e.rowVersions("customer_pipelines"); after[sales] != salesRows[sales] {
			t.Error("the existing pipeline was rewritten")
		}
		if got := e.stages(sales); got != "open@0,won@1" {
			t.Errorf("the existing pipeline's stages became %s", got)
		}
	})
}

func TestAnExistingOroCRMPipelineIsUsedWithItsStages(t *testing.T) {
	e := newEnv(t, scope)
	e.addPipeline("Sales", true, "Open")
	admins := e.addPipeline(" orocrm ", false, "Negotiation", "Open")
	e.apply(nil, statusDeal("1", 10, "open"), statusDeal("2", 10, "win"))
	if p := e.dealPlace("1"); p.pipelineID != admins || p.stage != "Open" || deref(p.legacy) != "open" {
		t.Errorf("open deal on %s/%q (legacy %s), want the admin's OroCRM pipeline and its Open stage", p.pipelineID, p.stage, deref(p.legacy))
	}
	if p := e.dealPlace("2"); p.pipelineID != admins || p.stage != "win" {
		t.Errorf("won deal on %s/%q, want a win stage added to the admin's OroCRM pipeline", p.pipelineID, p.stage)
	}
	if n := e.count(`SELECT count(*) FROM customer_pipelines`); n != 2 {
		t.Errorf("%d pipelines, want the admin's two", n)
	}
	if got := e.stages(admins); got != "Negotiation@0,Open@1,win@1073741824" {
		t.Errorf("stages %s", got)
	}
}
