package adapters_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/orosync/orosync/events"
)

// emitted lists the events written to the outbox after id since: "name{field,field,...}" sorted, and the last id.
func (e *env) emitted(since int64) ([]string, int64) {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT id, event_type, payload::text FROM orosync_outbox WHERE id > $1 ORDER BY id`, since)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	last := since
	for rows.Next() {
		var id int64
		var name, payload string
		if err := rows.Scan(&id, &name, &payload); err != nil {
			e.t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(payload), &m); err != nil {
			e.t.Fatal(err)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out = append(out, name+"{"+strings.Join(keys, ",")+"}")
		last = id
	}
	sort.Strings(out)
	return out, last
}

// Each Mercato event orosync emits, next to the change that emits it and the payload fields Mercato's command
// emits for that change (customers/events.ts; commands/*.ts: the CrudEventsConfig buildPayload of people,
// companies, deals, comments and interactions, the deal update's won/lost emit, the interaction commands'
// completed/canceled and next_interaction.updated lifecycle emits), plus syncOrigin, which orosync sets on all.
func TestMercatoEventsAreTheOnesMercatosCommandsEmitForTheSameChange(t *testing.T) {
	const (
		record      = "{id,organizationId,syncOrigin,tenantId}"
		entity      = "{entityId,id,organizationId,syncOrigin,tenantId}"
		interaction = "{entityId,id,interactionType,organizationId,source,status,syncOrigin,tenantId}"
		completed   = "{entityId,id,interactionType,occurredAt,organizationId,source,status,syncOrigin,tenantId}"
		next        = "{entityId,id,nextInteractionId,organizationId,syncOrigin,tenantId}"
		closure     = "{id,organizationId,ownerUserId,syncOrigin,tenantId,title,valueAmount,valueCurrency}"
	)
	task := interactionChange("tasks", "3", 10, "Call back", ref("contacts", "1"))
	done := interactionChange("tasks", "3", 20, "Call back", ref("contacts", "1"))
	done.Interaction.Status, done.Interaction.OccurredAt = "done", ptr("2026-01-02T03:04:05Z")
	canceled := interactionChange("calls", "4", 10, "Pitch", ref("contacts", "1"))
	canceledLater := interactionChange("calls", "4", 20, "Pitch", ref("contacts", "1"))
	canceledLater.Interaction.Status = "canceled"
	won := dealChange("9", 20, "Deal", nil, nil)
	won.Deal.Status = "win"
	e := newEnv(t, scope)
	_, since := e.emitted(0)
	for _, step := range []struct {
		change string
		apply  []events.Change
		want   []string // Mercato's events for it
	}{
		{"a contact is created (people create)", []events.Change{contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", sec: 1}.change()},
			[]string{"customers.person.created" + entity}},
		{"an opportunity is created (deals create)", []events.Change{dealChange("9", 10, "Deal", nil, nil)},
			[]string{"customers.deal.created" + record}},
		{"an opportunity is won (deals update: updated, then won)", []events.Change{won},
			[]string{"customers.deal.updated" + record, "customers.deal.won" + closure}},
		{"an opportunity is deleted (deals delete)", []events.Change{recordTombstone(won, 30)},
			[]string{"customers.deal.deleted" + record}},
		{"a task is created (interactions create: created, next_interaction.updated)", []events.Change{task},
			[]string{"customers.interaction.created" + interaction, "customers.next_interaction.updated" + next}},
		{"a task is done (updated, completed, next_interaction.updated)", []events.Change{done},
			[]string{"customers.interaction.completed" + completed, "customers.interaction.updated" + interaction,
				"customers.next_interaction.updated" + next}},
		{"a call is created", []events.Change{canceled},
			[]string{"customers.interaction.created" + interaction, "customers.next_interaction.updated" + next}},
		{"the call is canceled (updated, canceled, next_interaction.updated)", []events.Change{canceledLater},
			[]string{"customers.interaction.canceled" + interaction, "customers.interaction.updated" + interaction,
				"customers.next_interaction.updated" + next}},
		{"a task is deleted (interactions delete)", []events.Change{recordTombstone(done, 30)},
			[]string{"customers.interaction.deleted" + interaction, "customers.next_interaction.updated" + next}},
		{"a note is created (comments create)", []events.Change{noteChange("5", 10, "Hello", ref("contacts", "1"))},
			[]string{"customers.comment.created" + record}},
		{"a note is edited (comments update)", []events.Change{noteChange("5", 20, "Hello again", ref("contacts", "1"))},
			[]string{"customers.comment.updated" + record}},
		{"a note is deleted (comments delete)", []events.Change{recordTombstone(noteChange("5", 0, "", ref("contacts", "1")), 30)},
			[]string{"customers.comment.deleted" + record}},
	} {
		e.apply(nil, step.apply...)
		var got []string
		got, since = e.emitted(since)
		sort.Strings(step.want)
		if fmt.Sprint(got) != fmt.Sprint(step.want) {
			t.Errorf("%s:\n got  %v\n want %v", step.change, got, step.want)
		}
	}
	t.Run("interaction payloads carry the row's source and completion time", func(t *testing.T) {
		var callSource string
		if err := e.db.QueryRow(e.ctx, `SELECT source FROM customer_interactions WHERE interaction_type = 'call'`).Scan(&callSource); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ event, field, want string }{
			{"customers.interaction.created", "source", "adapter:todo"}, {"customers.interaction.canceled", "source", callSource},
			{"customers.interaction.completed", "occurredAt", "2026-01-02T03:04:05.000Z"},
			{"customers.next_interaction.updated", "entityId", e.person("1").entityID.String()},
		} {
			if evs := e.events(c.event); len(evs) == 0 || evs[0][c.field] != c.want {
				t.Errorf("%s %s: %v, want %q", c.event, c.field, evs, c.want)
			}
		}
	})
}
