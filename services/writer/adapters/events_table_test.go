package adapters_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
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
	won := owned(dealChange("9", 20, "Deal", nil, nil), "1", "")
	won.Deal.Status = "win"
	e := newEnv(t, pepperedScope)
	ada := e.mercatoUser(scope.TenantID, "ada@example.com", rowkit.HashForLookup("pepper", "ada@example.com"), false)
	e.apply(nil, directoryUser("1", 10, "Ada Admin", "ada@example.com"))
	_, since := e.emitted(0)
	for _, step := range []eventStep{
		{"a contact is created (people create)", []events.Change{contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", sec: 1}.change()},
			[]string{"customers.person.created" + entity}},
		{"an opportunity is created (deals create)", []events.Change{owned(dealChange("9", 10, "Deal", nil, nil), "1", "")},
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
		since = e.assertEmits(since, step)
	}
	t.Run("a won deal's payload carries its owner", func(t *testing.T) {
		if evs := e.events("customers.deal.won"); len(evs) != 1 || evs[0]["ownerUserId"] != ada.String() {
			t.Errorf("customers.deal.won %v, want ownerUserId %s (the deal's Mercato owner)", evs, ada)
		}
	})
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

// eventStep is a change and the events Mercato's commands emit for it ("name{field,...}").
type eventStep struct {
	change string
	apply  []events.Change
	want   []string
}

// assertEmits applies a step and checks the events written after id since; it returns the last event's id.
func (e *env) assertEmits(since int64, step eventStep) int64 {
	e.t.Helper()
	e.apply(nil, step.apply...)
	got, last := e.emitted(since)
	sort.Strings(step.want)
	if fmt.Sprint(got) != fmt.Sprint(step.want) {
		e.t.Errorf("%s:\n got  %v\n want %v", step.change, got, step.want)
	}
	return last
}

// The events of people, companies, their addresses and links, custom fields, deal stages and resurrections, each
// next to what Mercato's command for the same change emits: people/companies create/update/delete and the delete's
// undo (created, and a person's custom fields set again with notify; the delete's cascade and its undo emit nothing
// of their own: nativeDelete, restored rows), addresses create/update/delete
// (another address losing primary is a nativeUpdate: no event), person–company links create/update/delete
// (personCompanyLinks.ts: made primary is an update of the link made primary), custom fields (people notify
// <module>.<entity>.updated, the others do not; every update command announces its record), a deal's stage change
// (deals update: updated only) and an interaction's custom fields (interactions update: updated and
// next_interaction.updated).
func TestMercatoEventsOfEveryOtherChangeAreTheOnesMercatosCommandsEmit(t *testing.T) {
	const (
		record = "{id,organizationId,syncOrigin,tenantId}"
		entity = "{entityId,id,organizationId,syncOrigin,tenantId}"
		link   = "{companyEntityId,id,organizationId,personEntityId,syncOrigin,tenantId}"
		inter  = "{entityId,id,interactionType,organizationId,source,status,syncOrigin,tenantId}"
		next   = "{entityId,id,nextInteractionId,organizationId,syncOrigin,tenantId}"
	)
	ann := func(sec int) events.Change {
		return contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", sec: sec}.change()
	}
	renamed := func(sec int) events.Change {
		return contact{id: "1", first: "Ann", last: "Lee-Ray", email: "ann@example.com", sec: sec}.change()
	}
	acme := func(sec int, name string) events.Change { return account{id: "7", name: name, sec: sec}.change() }
	a1, a2 := address("1", "1 Main St", "Berlin", true), address("2", "2 Side St", "Hamburg", true)
	a1moved, a1second := address("1", "1 Main St", "Potsdam", true), address("1", "1 Main St", "Potsdam", false)
	task := interactionChange("tasks", "3", 10, "Call back", ref("contacts", "1"))
	deal := oroDeal("9", 10, "in_progress")
	e := newEnv(t, scope)
	_, since := e.emitted(0)
	for _, step := range []eventStep{
		{"an account is created (companies create)", []events.Change{acme(1, "Acme")}, []string{"customers.company.created" + entity}},
		{"an account is renamed (companies update)", []events.Change{acme(2, "Acme Corp")}, []string{"customers.company.updated" + entity}},
		{"a contact is created", []events.Change{ann(1)}, []string{"customers.person.created" + entity}},
		{"a contact is renamed (people update)", []events.Change{renamed(2)}, []string{"customers.person.updated" + entity}},
		{"the contact gets its account (links create)", []events.Change{withLinks(renamed(3), "7", "7")},
			[]string{"customers.person_company_link.created" + link}},
		{"the contact gets a second account, made primary (links create)", []events.Change{account{id: "8", name: "Beta", sec: 1}.change(),
			withLinks(renamed(4), "8", "7", "8")},
			[]string{"customers.company.created" + entity, "customers.person_company_link.created" + link}},
		{"the first account is primary again (links update)", []events.Change{withLinks(renamed(5), "7", "7", "8")},
			[]string{"customers.person_company_link.updated" + link}},
		{"the second account is removed (links delete)", []events.Change{withLinks(renamed(6), "7", "7")},
			[]string{"customers.person_company_link.deleted" + link}},
		{"the contact gets an address (addresses create)", []events.Change{withAddresses(withLinks(renamed(7), "7", "7"), a1)},
			[]string{"customers.address.created" + record}},
		{"the address is edited (addresses update)", []events.Change{withAddresses(withLinks(renamed(8), "7", "7"), a1moved)},
			[]string{"customers.address.updated" + record}},
		{"a second, primary address (addresses create; the first loses primary silently)",
			[]events.Change{withAddresses(withLinks(renamed(9), "7", "7"), a1second, a2)},
			[]string{"customers.address.created" + record}},
		{"the second address is removed and the first primary again (addresses delete, update)",
			[]events.Change{withAddresses(withLinks(renamed(10), "7", "7"), a1moved)},
			[]string{"customers.address.deleted" + record, "customers.address.updated" + record}},
		{"the contact's custom field changes (people update: profile custom fields notify)",
			[]events.Change{withCustomFields(withAddresses(withLinks(renamed(11), "7", "7"), a1moved), map[string]any{"nickname": "Annie"})},
			[]string{"customers.customer_person_profile.updated" + record, "customers.person.updated" + entity}},
		{"the account's custom field changes (companies update)", []events.Change{withCustomFields(acme(3, "Acme Corp"), map[string]any{"tier": "gold"})},
			[]string{"customers.company.updated" + entity}},
		{"an opportunity is created", []events.Change{deal}, []string{"customers.deal.created" + record}},
		{"the opportunity moves stage (deals update)", []events.Change{oroDeal("9", 20, "needs_analysis")},
			[]string{"customers.deal.updated" + record}},
		{"the opportunity's custom field changes (deals update)",
			[]events.Change{withCustomFields(oroDeal("9", 30, "needs_analysis"), map[string]any{"region": "EMEA"})},
			[]string{"customers.deal.updated" + record}},
		{"a task is created", []events.Change{task},
			[]string{"customers.interaction.created" + inter, "customers.next_interaction.updated" + next}},
		{"the task's custom field changes (interactions update)",
			[]events.Change{withCustomFields(interactionChange("tasks", "3", 20, "Call back", ref("contacts", "1")), map[string]any{"effort": "high"})},
			[]string{"customers.interaction.updated" + inter, "customers.next_interaction.updated" + next}},
		{"the opportunity is deleted", []events.Change{recordTombstone(deal, 40)}, []string{"customers.deal.deleted" + record}},
		{"the opportunity comes back (deals delete undone: created)", []events.Change{oroDeal("9", 50, "needs_analysis")},
			[]string{"customers.deal.created" + record}},
		{"the contact is deleted (people delete: its cascade emits nothing)", []events.Change{tombstone(renamed(20))},
			[]string{"customers.person.deleted" + entity}},
		{"the contact comes back (people delete undone: created, its custom fields set again with notify)",
			[]events.Change{withCustomFields(withAddresses(withLinks(renamed(21), "7", "7"), a1moved), map[string]any{"nickname": "Annie"})},
			[]string{"customers.customer_person_profile.updated" + record, "customers.person.created" + entity}},
		{"the account is deleted (companies delete)", []events.Change{companyTombstone(acme(20, "Acme Corp"))},
			[]string{"customers.company.deleted" + entity}},
		{"the account comes back (companies delete undone: created)", []events.Change{acme(21, "Acme Corp")},
			[]string{"customers.company.created" + entity}},
	} {
		since = e.assertEmits(since, step)
	}
}
