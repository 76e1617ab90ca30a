package adapters_test

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
)

// What Mercato 0.6.7's detail pages list as activities and todos, per mode of the feature toggle
// customers.interactions.unified (lib/interactionFeatureFlags.ts: off by default), read as its routes read them:
//   - off (default): api/people/[id] and api/companies/[id] list the legacy customer_activities and
//     customer_todo_links of the entity, plus its canonical interactions bridged from the legacy APIs
//     (source adapter:activity for non-tasks, adapter:todo for tasks); the deal page's activities
//     (api/activities?dealId, listCanonicalActivities with source adapter:activity) likewise by deal_id.
//   - on: every live canonical interaction of the entity (non-tasks as activities, tasks as todos), and of the deal.
const (
	legacyEntityActivities = `
SELECT subject FROM customer_activities WHERE entity_id = $1
UNION ALL SELECT title FROM customer_interactions
WHERE entity_id = $1 AND deleted_at IS NULL AND interaction_type <> 'task' AND source = 'adapter:activity'`
	legacyEntityTodos = `
SELECT i.title FROM customer_todo_links l JOIN customer_interactions i ON i.id = l.todo_id WHERE l.entity_id = $1
UNION ALL SELECT title FROM customer_interactions
WHERE entity_id = $1 AND deleted_at IS NULL AND interaction_type = 'task' AND source = 'adapter:todo'`
	legacyDealActivities = `
SELECT subject FROM customer_activities WHERE deal_id = $1
UNION ALL SELECT title FROM customer_interactions
WHERE deal_id = $1 AND deleted_at IS NULL AND interaction_type <> 'task' AND source = 'adapter:activity'`
	unifiedEntityActivities = `SELECT title FROM customer_interactions WHERE entity_id = $1 AND deleted_at IS NULL AND interaction_type <> 'task'`
	unifiedEntityTodos      = `SELECT title FROM customer_interactions WHERE entity_id = $1 AND deleted_at IS NULL AND interaction_type = 'task'`
	unifiedDealActivities   = `SELECT title FROM customer_interactions WHERE deal_id = $1 AND deleted_at IS NULL AND interaction_type <> 'task'`
)

func (e *env) titles(q string, id string) string {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, q, id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s *string
		if err := rows.Scan(&s); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, deref(s))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// activityWorld writes a contact, an account, a deal of both, and a task, a call and an email on them.
func activityWorld(t *testing.T) (e *env, person, company, deal string) {
	e = newEnv(t, scope)
	email := interactionChange("tasks", "3", 10, "Mail", ref("contacts", "1"), ref("opportunities", "9"))
	email.Source.Type, email.Interaction.InteractionType = "emails", "email"
	email.Interaction.Status = "done"
	e.apply(nil, contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", sec: 1}.change(),
		account{id: "7", name: "Acme", sec: 1}.change(),
		dealChange("9", 1, "Big deal", []events.OroRef{ref("contacts", "1")}, []events.OroRef{ref("accounts", "7")}))
	e.apply(nil, interactionChange("tasks", "1", 10, "Todo", ref("contacts", "1")),
		interactionChange("calls", "2", 10, "Call", ref("accounts", "7"), ref("opportunities", "9")), email)
	deal, _ = e.mapped(events.AggregateDeal, "opportunities:9")
	return e, e.person("1").entityID.String(), e.company("7").entityID.String(), deal
}

func TestActivitiesShowOnMercatosPagesWithTheDefaultFeatureFlags(t *testing.T) {
	e, person, company, deal := activityWorld(t)
	for _, c := range []struct{ page, q, id, want string }{
		{"person activities", legacyEntityActivities, person, "Mail"},
		{"person todos", legacyEntityTodos, person, "Todo"},
		{"company activities", legacyEntityActivities, company, "Call"},
		{"deal activities", legacyDealActivities, deal, "Call,Mail"},
	} {
		if got := e.titles(c.q, c.id); got != c.want {
			t.Errorf("%s: %q, want %q", c.page, got, c.want)
		}
	}
}

func TestActivitiesShowOnMercatosPagesWithUnifiedInteractionsOn(t *testing.T) {
	e, person, company, deal := activityWorld(t)
	for _, c := range []struct{ page, q, id, want string }{
		{"person activities", unifiedEntityActivities, person, "Mail"},
		{"person todos", unifiedEntityTodos, person, "Todo"},
		{"company activities", unifiedEntityActivities, company, "Call"},
		{"deal activities", unifiedDealActivities, deal, "Call,Mail"},
	} {
		if got := e.titles(c.q, c.id); got != c.want {
			t.Errorf("%s: %q, want %q", c.page, got, c.want)
		}
	}
}

// participants and linked_entities as Mercato's validators take them (customers/data/validators.ts
// interactionParticipantSchema, interactionLinkedEntitySchema).
func TestInteractionParticipantsAndLinkedEntitiesHaveMercatosShapes(t *testing.T) {
	e, _, company, deal := activityWorld(t)
	var parts, linked []byte
	if err := e.db.QueryRow(e.ctx, `SELECT participants, linked_entities FROM customer_interactions WHERE title = 'Call'`).Scan(&parts, &linked); err != nil {
		t.Fatal(err)
	}
	if parts != nil {
		t.Errorf("participants %s: Mercato's are its users ({userId, ...}), no Oro target is one", parts)
	}
	var items []map[string]any
	if err := json.Unmarshal(linked, &items); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range items {
		if len(it) != 3 {
			t.Errorf("linked entity %v: want exactly id, type, label", it)
		}
		id, _ := it["id"].(string)
		typ, _ := it["type"].(string)
		label, _ := it["label"].(string)
		if _, err := uuid.Parse(id); err != nil || (typ != "company" && typ != "deal") || label == "" {
			t.Errorf("linked entity %v breaks Mercato's schema", it)
		}
		got[id] = typ + ":" + label
	}
	if len(got) != 2 || got[company] != "company:Acme" || got[deal] != "deal:Big deal" {
		t.Errorf("linked entities %v, want the account's company and the deal, labelled", got)
	}
}
