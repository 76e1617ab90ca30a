package adapters_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/orosync/orosync/events"
)

// oroPipeline is Oro's opportunity statuses as the default mapping (oro-v1 tables.dealPipeline) sends them: Oro's
// order and default probabilities (SalesBundle Configuration default_opportunity_probabilities).
func oroPipeline() []events.DealStage {
	p := func(v int) *int { return &v }
	return []events.DealStage{{ID: "in_progress", Label: "Open", Order: 0, Probability: p(0)},
		{ID: "identification_alignment", Label: "Identification & Alignment", Order: 1, Probability: p(10)},
		{ID: "needs_analysis", Label: "Needs Analysis", Order: 2, Probability: p(20)},
		{ID: "solution_development", Label: "Solution Development", Order: 3, Probability: p(50)},
		{ID: "negotiation", Label: "Negotiation", Order: 4, Probability: p(80)},
		{ID: "won", Label: "Closed Won", Order: 5, Probability: p(100)},
		{ID: "lost", Label: "Closed Lost", Order: 6, Probability: p(0)}}
}

// oroDeal is opportunity id at version sec in the Oro status oroStatus, as the default mapping maps it.
func oroDeal(id string, sec int, oroStatus string) events.Change {
	c := dealChange(id, sec, "Deal "+id, nil, nil)
	c.Deal.Status = map[string]string{"won": "win", "lost": "loose"}[oroStatus]
	if c.Deal.Status == "" {
		c.Deal.Status = "open"
	}
	c.Deal.Pipeline = oroPipeline()
	for _, st := range c.Deal.Pipeline {
		if st.ID == oroStatus {
			s := st
			c.Deal.Stage, c.Deal.Probability = &s, s.Probability
		}
	}
	return c
}

// transitions lists a deal's stage transitions: "label#order@unix-seconds" by stage order, deleted ones marked "-".
func (e *env) transitions(oroID string) string {
	e.t.Helper()
	id, _ := e.mapped(events.AggregateDeal, "opportunities:"+oroID)
	var s string
	if err := e.db.QueryRow(e.ctx, `
SELECT coalesce(string_agg(CASE WHEN deleted_at IS NOT NULL OR NOT is_active THEN '-' ELSE '' END || stage_label || '#' || stage_order
       || '@' || extract(epoch FROM transitioned_at)::bigint, ',' ORDER BY stage_order), '')
FROM customer_deal_stage_transitions t
WHERE deal_id = $1 AND EXISTS (SELECT 1 FROM customer_pipeline_stages s WHERE s.id = t.stage_id AND s.pipeline_id = t.pipeline_id)`,
		id).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func TestTheOroCRMPipelineHasOneStagePerOroStatusInOrosOrder(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, oroDeal("1", 10, "needs_analysis"), oroDeal("2", 10, "won"))
	p := e.dealPlace("1")
	want := "Open@0,Identification & Alignment@1,Needs Analysis@2,Solution Development@3,Negotiation@4,Closed Won@5,Closed Lost@6"
	if got := e.stages(p.pipelineID); got != want {
		t.Errorf("stages %s, want %s", got, want)
	}
	for _, c := range []struct{ id, stage, status, closure string }{{"1", "Needs Analysis", "open", ""}, {"2", "Closed Won", "win", "won"}} {
		p := e.dealPlace(c.id)
		if p.pipeline != "OroCRM" || p.stage != c.stage || deref(p.legacy) != c.stage || !closureIs(p.closure, c.closure) {
			t.Errorf("deal %s on %q/%q (pipeline_stage %s, closure %s), want %s", c.id, p.pipeline, p.stage, deref(p.legacy),
				deref(p.closure), c.stage)
		}
	}
	t.Run("deals carry Oro's probability of their stage", func(t *testing.T) {
		if n := e.count(`SELECT count(*) FROM customer_deals WHERE (title, probability) IN (('Deal 1', 20), ('Deal 2', 100))`); n != 2 {
			t.Errorf("%d deals with their stage's probability, want 2", n)
		}
	})
	t.Run("every stage is in the pipeline_stage dictionary", func(t *testing.T) {
		if n := e.count(`SELECT count(*) FROM customer_dictionary_entries WHERE kind = 'pipeline_stage'`); n != 7 {
			t.Errorf("%d pipeline_stage entries, want 7", n)
		}
	})
}

func TestDealStageTransitions(t *testing.T) {
	// Oro's history of one opportunity: open, needs analysis, negotiation, back to needs analysis, then won.
	history := []events.Change{oroDeal("7", 10, "in_progress"), oroDeal("7", 20, "needs_analysis"), oroDeal("7", 30, "negotiation"),
		oroDeal("7", 40, "needs_analysis"), oroDeal("7", 50, "won")}
	base := int(at(0).UpdatedAt.Unix())
	want := fmt.Sprintf("Open#0@%d,Needs Analysis#2@%d,Negotiation#4@%d,Closed Won#5@%d", base+10, base+40, base+30, base+50)

	one := newEnv(t, scope)
	for _, c := range history {
		one.apply(nil, c)
	}
	t.Run("are recorded per stage entered, as Mercato's deal update records them", func(t *testing.T) {
		if got := one.transitions("7"); got != want {
			t.Errorf("transitions %s, want %s", got, want)
		}
	})
	t.Run("are the same when the versions come in one batch", func(t *testing.T) {
		batch := newEnv(t, scope)
		batch.apply(nil, history...)
		if got := batch.transitions("7"); got != want {
			t.Errorf("transitions %s, want %s", got, want)
		}
	})
	t.Run("are the same after a replay under a new mapping", func(t *testing.T) {
		before := one.rowVersions("customer_deal_stage_transitions")
		for _, c := range history {
			c.MappingVersion = "oro-v2"
			one.apply(nil, c)
		}
		if got := one.transitions("7"); got != want {
			t.Errorf("transitions %s, want %s", got, want)
		}
		if n := rewrites(before, one.rowVersions("customer_deal_stage_transitions")); n != 0 {
			t.Errorf("the replay rewrote %d transitions", n)
		}
	})
	t.Run("a version on the same stage records none", func(t *testing.T) {
		c := oroDeal("7", 60, "won")
		c.Deal.Title = "Renamed"
		one.apply(nil, c)
		if got := one.transitions("7"); got != want {
			t.Errorf("transitions %s, want %s", got, want)
		}
	})
	t.Run("a deleted deal's are deleted and come back with it", func(t *testing.T) {
		one.apply(nil, recordTombstone(oroDeal("7", 0, ""), 70))
		if got := one.transitions("7"); strings.Count(got, "-") != 4 {
			t.Errorf("transitions of the deleted deal %s, want all 4 deleted", got)
		}
		one.apply(nil, oroDeal("7", 80, "won"))
		if got := one.transitions("7"); got != want {
			t.Errorf("transitions after the deal came back %s, want %s", got, want)
		}
	})
}
