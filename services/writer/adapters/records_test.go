package adapters_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/domain"
)

func at(sec int) events.SourceVersion {
	return events.SourceVersion{UpdatedAt: time.Unix(int64(1_700_000_000+sec), 0).UTC(), PayloadHash: fmt.Sprint("h", sec)}
}

func ref(typ, id string) events.OroRef { return events.OroRef{Type: typ, ID: id} }

func dealChange(id string, sec int, title string, people, companies []events.OroRef) events.Change {
	amount, currency, close := "1500.50", "EUR", "2026-03-31"
	prob := 40
	return events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateDeal,
		Source: events.RecordRef{Tenant: "acme", Type: "opportunities", ID: id}, SourceVersion: at(sec), MappingVersion: "oro-v1",
		Deal: &events.Deal{Title: title, Status: "open", Probability: &prob, ValueAmount: &amount, ValueCurrency: &currency,
			ExpectedCloseAt: &close, People: people, Companies: companies}}
}

func interactionChange(typ, id string, sec int, title string, targets ...events.OroRef) events.Change {
	in := &events.Interaction{InteractionType: map[string]string{"tasks": "task", "calls": "call"}[typ], Title: &title,
		Status: "planned", Participants: targets, LinkedEntities: targets}
	if len(targets) > 0 {
		p := targets[0]
		in.Entity = &p
	}
	return events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateInteraction,
		Source: events.RecordRef{Tenant: "acme", Type: typ, ID: id}, SourceVersion: at(sec), MappingVersion: "oro-v1", Interaction: in}
}

func noteChange(id string, sec int, body string, targets ...events.OroRef) events.Change {
	return events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateComment,
		Source: events.RecordRef{Tenant: "acme", Type: "notes", ID: id}, SourceVersion: at(sec), MappingVersion: "oro-v1",
		Comment: &events.Comment{Body: body, Targets: targets}}
}

func recordTombstone(c events.Change, sec int) events.Change {
	c.Op, c.Deal, c.Interaction, c.Comment, c.Company = events.OpDelete, nil, nil, nil, nil
	c.SourceVersion = at(sec)
	return c
}

// mapped returns the Mercato id orosync's external id mapping gives an Oro record of an aggregate ("" if none);
// external is "<Oro type>:<Oro id>".
func (e *env) mapped(aggregate, external string) (id string, deleted bool) {
	e.t.Helper()
	_ = e.db.QueryRow(e.ctx, `SELECT internal_entity_id::text, deleted_at IS NOT NULL FROM sync_external_id_mappings
WHERE integration_id = 'sync_orocrm' AND internal_entity_type = $1 AND external_id = $2`, aggregate, external).Scan(&id, &deleted)
	return id, deleted
}

type dealRow struct {
	title, status, amount, currency string
	probability                     int
	closeAt                         time.Time
	deleted                         bool
	people, companies               []string
}

func (e *env) deal(id string) dealRow {
	e.t.Helper()
	var d dealRow
	if err := e.db.QueryRow(e.ctx, `SELECT title, status, value_amount::text, value_currency, probability, expected_close_at,
       deleted_at IS NOT NULL,
       array(SELECT person_entity_id::text FROM customer_deal_people WHERE deal_id = d.id ORDER BY 1),
       array(SELECT company_entity_id::text FROM customer_deal_companies WHERE deal_id = d.id ORDER BY 1)
FROM customer_deals d WHERE id = $1`, id).Scan(&d.title, &d.status, &d.amount, &d.currency, &d.probability, &d.closeAt, &d.deleted,
		&d.people, &d.companies); err != nil {
		e.t.Fatalf("deal %s: %v", id, err)
	}
	return d
}

func TestADealIsWrittenWithItsLinksWhichWaitForRecordsNotYetWritten(t *testing.T) {
	e := newEnv(t, scope)
	v1 := dealChange("9", 10, "Big deal", []events.OroRef{ref("contacts", "1")}, []events.OroRef{ref("accounts", "7")})
	if r := e.apply(nil, v1); r.Records != 1 || r.Created != 1 {
		t.Errorf("result %+v, want one record and one created event (the relay is woken by events)", r)
	}
	dealID, _ := e.mapped(events.AggregateDeal, "opportunities:9")
	if dealID == "" {
		t.Fatal("no external id for opportunity 9")
	}
	d := e.deal(dealID)
	if d.title != "Big deal" || d.status != "open" || d.amount != "1500.50" || d.currency != "EUR" || d.probability != 40 ||
		!d.closeAt.Equal(time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)) || len(d.people) != 0 || len(d.companies) != 0 {
		t.Fatalf("deal before its people and companies: %+v", d)
	}
	if n := e.count(`SELECT count(*) FROM orosync_waiting_refs`); n != 2 {
		t.Errorf("%d waiting references, want 2", n)
	}
	created := e.events("customers.deal.created")
	if len(created) != 1 || created[0]["id"] != dealID || created[0]["organizationId"] != scope.OrganizationID.String() ||
		created[0]["tenantId"] != scope.TenantID.String() || created[0]["syncOrigin"] != "sync_orocrm" || len(created[0]) != 4 {
		t.Errorf("created events %v", created)
	}

	e.apply(nil, contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", sec: 1}.change())
	if d := e.deal(dealID); len(d.people) != 1 || d.people[0] != e.person("1").entityID.String() || len(d.companies) != 0 {
		t.Fatalf("deal after its contact: %+v", d)
	}
	e.apply(nil, account{id: "7", name: "Acme", sec: 1}.change())
	if d := e.deal(dealID); len(d.companies) != 1 || d.companies[0] != e.company("7").entityID.String() {
		t.Fatalf("deal after its account: %+v", d)
	}
	if n := e.count(`SELECT count(*) FROM orosync_waiting_refs`); n != 0 {
		t.Errorf("%d waiting references left, want 0", n)
	}
	if n := len(e.events("customers.deal.updated")); n != 2 {
		t.Errorf("%d updated events for two links resolved, want 2", n)
	}

	// Redelivery is a no-op; a new version without the contact drops its link.
	before := e.rowVersions("customer_deals")
	e.apply(nil, v1)
	if n := rewrites(before, e.rowVersions("customer_deals")); n != 0 {
		t.Errorf("redelivered version rewrote %d deals", n)
	}
	e.apply(nil, dealChange("9", 20, "Bigger deal", nil, []events.OroRef{ref("accounts", "7")}))
	if d := e.deal(dealID); d.title != "Bigger deal" || len(d.people) != 0 || len(d.companies) != 1 {
		t.Fatalf("deal v2: %+v", d)
	}
	if n := e.count(`SELECT count(*) FROM customer_dictionary_entries WHERE kind = 'deal_status' AND normalized_value = 'open'`); n != 1 {
		t.Errorf("deal_status dictionary entries: %d", n)
	}
	won := dealChange("9", 25, "Bigger deal", nil, []events.OroRef{ref("accounts", "7")})
	won.Deal.Status = "win"
	e.apply(nil, won)
	if w := e.events("customers.deal.won"); len(w) != 1 || w[0]["id"] != dealID || w[0]["title"] != "Bigger deal" ||
		w[0]["valueAmount"] != "1500.50" || w[0]["syncOrigin"] != "sync_orocrm" {
		t.Errorf("won events %v", w)
	}

	// A tombstone soft-deletes the deal and removes its links; a newer version brings both back.
	e.apply(nil, recordTombstone(v1, 26))
	if d := e.deal(dealID); !d.deleted || len(d.companies) != 0 {
		t.Fatalf("deal after tombstone: %+v", d)
	}
	if _, deleted := e.mapped(events.AggregateDeal, "opportunities:9"); !deleted {
		t.Error("external id of the deleted deal is live")
	}
	if n := len(e.events("customers.deal.deleted")); n != 1 {
		t.Errorf("%d deleted events", n)
	}
	e.apply(nil, dealChange("9", 5, "Old", nil, nil)) // older than the tombstone: stays deleted
	if d := e.deal(dealID); !d.deleted || d.title != "Bigger deal" {
		t.Fatalf("an old version changed the deleted deal: %+v", d)
	}
	e.apply(nil, dealChange("9", 30, "Back", nil, []events.OroRef{ref("accounts", "7")}))
	if d := e.deal(dealID); d.deleted || d.title != "Back" || len(d.companies) != 1 {
		t.Fatalf("deal back: %+v", d)
	}
	if n := len(e.events("customers.deal.created")); n != 2 {
		t.Errorf("%d created events, want 2 (created, back)", n)
	}
}

type interactionRow struct {
	entity, typ, status string
	deal                *string
	linked              []map[string]any // linked_entities
	deleted             bool
}

func (e *env) interaction(oroType, id string) (interactionRow, bool) {
	e.t.Helper()
	var r interactionRow
	var parts []byte
	key := oroType + "/" + id
	err := e.db.QueryRow(e.ctx, `SELECT i.entity_id::text, i.interaction_type, i.status, i.deal_id::text, i.linked_entities, i.deleted_at IS NOT NULL
FROM orosync_records r JOIN customer_interactions i ON i.id = r.internal_entity_id
WHERE r.source_type || '/' || r.source_id = $1`, key).Scan(&r.entity, &r.typ, &r.status, &r.deal, &parts, &r.deleted)
	if err != nil {
		return r, false
	}
	if parts != nil {
		if err := json.Unmarshal(parts, &r.linked); err != nil {
			e.t.Fatal(err)
		}
	}
	return r, true
}

func TestAnInteractionKeepsEveryTargetTakingThePrimaryOneOnceWritten(t *testing.T) {
	e := newEnv(t, scope)
	task := interactionChange("tasks", "3", 10, "Call back", ref("contacts", "1"), ref("contacts", "2"), ref("accounts", "7"),
		ref("opportunities", "9"))
	e.apply(nil, task)
	if _, ok := e.interaction("tasks", "3"); ok {
		t.Fatal("an interaction without any written target was written")
	}
	e.apply(nil, contact{id: "2", first: "Bo", last: "Ek", email: "bo@example.com", sec: 1}.change())
	r, ok := e.interaction("tasks", "3")
	if !ok || r.entity != e.person("2").entityID.String() || r.typ != "task" || r.status != "planned" || len(r.linked) != 0 {
		t.Fatalf("interaction once its second target is written: %+v %v", r, ok)
	}
	e.apply(nil, contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", sec: 1}.change(),
		account{id: "7", name: "Acme", sec: 1}.change(), dealChange("9", 1, "Deal", nil, nil))
	r, _ = e.interaction("tasks", "3")
	dealID, _ := e.mapped(events.AggregateDeal, "opportunities:9")
	if r.entity != e.person("1").entityID.String() || r.deal == nil || *r.deal != dealID {
		t.Fatalf("interaction once every target is written: %+v", r)
	}
	if len(r.linked) != 2 || r.linked[0]["type"] != "company" || r.linked[1]["type"] != "deal" || r.linked[1]["id"] != dealID {
		t.Errorf("linked entities %v, want the account's company and the deal", r.linked)
	}
	if n := len(e.events("customers.interaction.created")); n != 1 {
		t.Errorf("%d created events", n)
	}
	upd := e.events("customers.interaction.updated")
	if len(upd) == 0 || upd[len(upd)-1]["entityId"] != r.entity || upd[len(upd)-1]["interactionType"] != "task" {
		t.Errorf("updated events %v", upd)
	}
	if n := e.count(`SELECT count(*) FROM customer_dictionary_entries WHERE kind IN ('activity_type', 'interaction_status')`); n != 2 {
		t.Errorf("%d dictionary entries for type and status, want 2", n)
	}
	done := interactionChange("tasks", "3", 15, "Call back", ref("contacts", "1"), ref("contacts", "2"), ref("accounts", "7"),
		ref("opportunities", "9"))
	done.Interaction.Status = "done"
	e.apply(nil, done)
	if c := e.events("customers.interaction.completed"); len(c) != 1 || c[0]["status"] != "done" || c[0]["entityId"] != r.entity {
		t.Errorf("completed events %v", c)
	}
	e.apply(nil, recordTombstone(task, 20))
	if r, _ := e.interaction("tasks", "3"); !r.deleted {
		t.Error("tombstone did not delete the interaction")
	}

	// Only a deal written: the interaction stands for the deal's first company, once the deal has one.
	call := interactionChange("calls", "4", 10, "Pitch", ref("opportunities", "10"))
	e.apply(nil, call, dealChange("10", 1, "Other", nil, []events.OroRef{ref("accounts", "8")}))
	if _, ok := e.interaction("calls", "4"); ok {
		t.Fatal("interaction on a deal without company was written")
	}
	e.apply(nil, account{id: "8", name: "Globex", sec: 1}.change())
	if r, ok := e.interaction("calls", "4"); !ok || r.entity != e.company("8").entityID.String() || r.deal == nil {
		t.Fatalf("interaction on a deal after the deal's company: %+v %v", r, ok)
	}
}

func TestANotesCommentsFollowItsTargets(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", sec: 1}.change(),
		account{id: "7", name: "Acme", sec: 1}.change())
	note := noteChange("5", 10, "Met at the fair", ref("contacts", "1"), ref("accounts", "7"), ref("contacts", "2"))
	e.apply(nil, note)
	live := func() int {
		return e.count(`SELECT count(*) FROM customer_comments WHERE deleted_at IS NULL AND body = 'Met at the fair'`)
	}
	if n := live(); n != 2 {
		t.Fatalf("%d comments before the third target is written, want 2", n)
	}
	e.apply(nil, contact{id: "2", first: "Bo", last: "Ek", email: "bo@example.com", sec: 1}.change())
	if n := live(); n != 3 {
		t.Fatalf("%d comments once every target is written, want 3", n)
	}
	e.apply(nil, noteChange("5", 20, "Met at the fair", ref("contacts", "1"), ref("accounts", "7")))
	if n := live(); n != 2 {
		t.Errorf("%d comments after a target was dropped, want 2", n)
	}
	if n := len(e.events("customers.comment.created")); n != 3 {
		t.Errorf("%d created events, want 3", n)
	}
	if n := len(e.events("customers.comment.deleted")); n != 1 {
		t.Errorf("%d deleted events, want 1", n)
	}
	e.apply(nil, recordTombstone(note, 30))
	if n := live(); n != 0 {
		t.Errorf("%d comments after the note was deleted", n)
	}
}

func TestB2BCustomerMergesIntoItsAccountsCompanyFillingOnlyWhatItLacks(t *testing.T) {
	e := newEnv(t, scope)
	shop := events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateCompany,
		Source: events.RecordRef{Tenant: "acme", Type: "b2bcustomers", ID: "5"}, SourceVersion: at(10), MappingVersion: "oro-v1",
		Company: &events.Company{DisplayName: "Acme shop", PrimaryEmail: ptr("shop@acme.example"), PrimaryPhone: ptr("+1 555"),
			Industry: ptr("Retail"), MergeInto: &events.OroRef{Type: "accounts", ID: "7"}}}
	deal := dealChange("9", 10, "Shop deal", nil, []events.OroRef{ref("b2bcustomers", "5")})
	e.apply(nil, shop, deal)
	if n := e.count(`SELECT count(*) FROM customer_entities WHERE kind = 'company'`); n != 0 {
		t.Fatalf("%d companies before the account arrived, want 0", n)
	}
	e.apply(nil, account{id: "7", name: "Acme", sec: 1}.change()) // has an email, no phone, no industry
	co := e.company("7")
	var email, phone, industry string
	if err := e.db.QueryRow(e.ctx, `SELECT e.primary_email, e.primary_phone, c.industry FROM customer_entities e
JOIN customer_companies c ON c.entity_id = e.id WHERE e.id = $1`, co.entityID).Scan(&email, &phone, &industry); err != nil {
		t.Fatal(err)
	}
	if email != "info@7.example" || phone != "+1 555" || industry != "Retail" || co.display != "Acme" {
		t.Errorf("merged company: email %s phone %s industry %s display %s", email, phone, industry, co.display)
	}
	if id, _ := e.mapped(events.AggregateCompany, "b2bcustomers:5"); id != "" {
		t.Errorf("the merged b2b customer is an external id of %s: Mercato keeps one mapping per record, the account's", id)
	}
	if id, _ := e.mapped(events.AggregateCompany, "accounts:7"); id != co.entityID.String() {
		t.Errorf("the account's external id points to %q, want %s", id, co.entityID)
	}
	if n := e.count(`SELECT count(*) FROM customer_entities WHERE kind = 'company'`); n != 1 {
		t.Errorf("%d companies, want 1", n)
	}
	dealID, _ := e.mapped(events.AggregateDeal, "opportunities:9")
	if d := e.deal(dealID); len(d.companies) != 1 || d.companies[0] != co.entityID.String() {
		t.Errorf("deal on the b2b customer links %v, want the account's company", d.companies)
	}

	// Without an account, a b2b customer is a company of its own.
	own := shop
	own.Source.ID, own.Company = "6", &events.Company{DisplayName: "Solo shop"}
	e.apply(nil, own)
	if c := e.company("b2bcustomers:6"); c.display != "Solo shop" {
		t.Errorf("own company %+v", c)
	}
}

// recordStream is a history of contacts, accounts, deals, interactions and notes referencing each other, with
// versions and tombstones.
func recordStream() []events.Change {
	rng := rand.New(rand.NewPCG(7, 7))
	var out []events.Change
	for i := 1; i <= 6; i++ {
		out = append(out, contact{id: fmt.Sprint(i), first: "F", last: fmt.Sprint(i), email: fmt.Sprint(i, "@x.example"), sec: i}.change())
	}
	for i := 1; i <= 3; i++ {
		out = append(out, account{id: fmt.Sprint(i), name: fmt.Sprint("Co", i), sec: i}.change())
		// A b2b customer merged into the account (filling its phone), referenced by a deal below.
		out = append(out, events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateCompany,
			Source: events.RecordRef{Tenant: "acme", Type: "b2bcustomers", ID: fmt.Sprint(i)}, SourceVersion: at(5), MappingVersion: "oro-v1",
			Company: &events.Company{DisplayName: fmt.Sprint("Shop", i), PrimaryPhone: ptr(fmt.Sprint("+1 555 ", i)),
				MergeInto: &events.OroRef{Type: "accounts", ID: fmt.Sprint(i)},
				Addresses: []events.Address{b2bAddress(fmt.Sprint(i), fmt.Sprint(i, " Bill St"), "billing", true)}}})
	}
	pick := func(typ string, n int) events.OroRef { return ref(typ, fmt.Sprint(1+rng.IntN(n))) }
	for i := 1; i <= 8; i++ {
		id := fmt.Sprint(i)
		var last events.Change
		for v := range 1 + rng.IntN(3) {
			last = dealChange(id, 10+v*10, fmt.Sprint("Deal ", i, " v", v), []events.OroRef{pick("contacts", 6)},
				[]events.OroRef{pick("accounts", 3), pick("b2bcustomers", 3)})
			// One status per deal: the stages made are then those of the deals, in any order (stages, like
			// dictionary entries, keep every value ever written).
			last.Deal.Status = []string{"open", "win", "loose", "in_progress"}[i%4]
			out = append(out, last)
		}
		if rng.IntN(3) == 0 {
			out = append(out, recordTombstone(last, 100))
		}
		var task events.Change
		for v := range 1 + rng.IntN(3) {
			task = interactionChange("tasks", id, 10+v*10, fmt.Sprint("Task ", i, " v", v), pick("contacts", 6), pick("opportunities", 8),
				pick("accounts", 3))
			out = append(out, task)
		}
		if rng.IntN(3) == 0 {
			out = append(out, recordTombstone(task, 100))
		}
		out = append(out, interactionChange("calls", id, 10, "Only a deal", pick("opportunities", 8)))
		out = append(out, noteChange(id, 10, fmt.Sprint("Note ", i), pick("contacts", 6), pick("accounts", 3)))
		out = append(out, noteChange(id, 20, fmt.Sprint("Note ", i, " v2"), pick("contacts", 6), pick("opportunities", 8)))
	}
	return out
}

// recordRows lists deals, their links, interactions, comments and their bookkeeping (values, not times), sorted.
func (e *env) recordRows() string {
	e.t.Helper()
	var sum string
	if err := e.db.QueryRow(e.ctx, `
SELECT string_agg(x, E'\n' ORDER BY x) FROM (
  SELECT ROW('d', id, title, status, value_amount, value_currency, probability, expected_close_at, deleted_at IS NOT NULL,
    pipeline_id, pipeline_stage_id, pipeline_stage, closure_outcome)::text
  FROM customer_deals
  UNION ALL SELECT ROW('pl', id, name, is_default)::text FROM customer_pipelines
  UNION ALL SELECT ROW('ps', id, pipeline_id, name, position)::text FROM customer_pipeline_stages
  UNION ALL SELECT ROW('dp', id, deal_id, person_entity_id)::text FROM customer_deal_people
  UNION ALL SELECT ROW('dc', id, deal_id, company_entity_id)::text FROM customer_deal_companies
  UNION ALL SELECT ROW('i', id, entity_id, deal_id, interaction_type, title, status, participants, linked_entities,
    deleted_at IS NOT NULL)::text FROM customer_interactions
  UNION ALL SELECT ROW('c', id, entity_id, deal_id, body, deleted_at IS NOT NULL)::text FROM customer_comments
  UNION ALL SELECT ROW('m', id, internal_entity_type, internal_entity_id, external_id, deleted_at IS NOT NULL)::text
  FROM sync_external_id_mappings
  UNION ALL SELECT ROW('r', source_type, source_id, internal_entity_type, internal_entity_id, profile_id, source_updated_at,
    payload_hash, deleted_at IS NOT NULL, snapshot)::text FROM orosync_records
  UNION ALL SELECT ROW('w', owner_source_type, owner_source_id, target_source_type, target_source_id)::text FROM orosync_waiting_refs
  UNION ALL SELECT ROW('k', kind, normalized_value)::text FROM customer_dictionary_entries
  UNION ALL SELECT ROW('e', id, display_name, primary_email, primary_phone, deleted_at IS NOT NULL)::text FROM customer_entities
  UNION ALL SELECT ROW('co', entity_id, legal_name, website_url, industry)::text FROM customer_companies
  UNION ALL SELECT ROW('a', id, entity_id, address_line1, purpose, is_primary)::text FROM customer_addresses
) t(x)`).Scan(&sum); err != nil {
		e.t.Fatal(err)
	}
	return sum
}

// contactDeletedAndBack are a tombstone of contact 2 and its resurrection: deleted, the contact takes its
// interactions and comments with it; back, it brings them back.
func contactDeletedAndBack() (tomb, back events.Change) {
	return tombstone(contact{id: "2", first: "F", last: "2", email: "2@x.example", sec: 50}.change()),
		contact{id: "2", first: "F", last: "2", email: "2@x.example", sec: 60}.change()
}

func TestRecordChangesAppliedTwiceOrInReverseLeaveIdenticalTables(t *testing.T) {
	tomb, back := contactDeletedAndBack()
	stream := recordStream()
	// Seven changes apart (versions already applied between), so never in one batch.
	stream = append(append(append(stream, tomb), stream[:7]...), back)
	once, want := appliedTwiceAndInReverse(t, stream, 7, (*env).recordRows)
	if n := once.count(`SELECT count(*) FROM customer_interactions`); n == 0 {
		t.Fatal("no interactions written")
	}
	if n := once.count(`SELECT count(*) FROM customer_comments`); n == 0 {
		t.Fatal("no comments written")
	}
	if n := once.count(`SELECT count(*) FROM customer_pipeline_stages`); n != 4 {
		t.Fatalf("%d pipeline stages written, want 4", n)
	}

	shuffled := recordStream()
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	pos := rand.New(rand.NewPCG(5, 6))
	for _, c := range []events.Change{tomb, back} {
		shuffled = slices.Insert(shuffled, pos.IntN(len(shuffled)+1), c)
	}
	single := newEnv(t, scope)
	for _, c := range shuffled {
		single.apply(nil, c)
	}
	sameRows(t, "applied shuffled one at a time", single.recordRows(), want)
}

// BenchmarkResolveWaitingAfterAContactBatch is what every batch pays for waiting references when nothing waits
// for its records (the common case of a contact replay): one transaction, a lock and an indexed delete.
func BenchmarkResolveWaitingAfterAContactBatch(b *testing.B) {
	store, _ := benchStore(b)
	apply := app.ApplyChanges{Store: store}
	batch := benchChanges(0, benchBatch, 10, "", "v1")
	if _, err := apply.Handle(context.Background(), batch); err != nil {
		b.Fatal(err)
	}
	keys := make([]domain.Key, len(batch))
	for i, c := range batch {
		keys[i] = domain.KeyOf(c)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := store.ResolveWaiting(context.Background(), keys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordAggregates writes batches of 1,000 deals (one person and one company link each), 1,000 tasks
// (three targets) and 1,000 notes (two targets) whose people and companies exist, as a replay would.
func BenchmarkRecordAggregates(b *testing.B) {
	store, _ := benchStore(b)
	apply := app.ApplyChanges{Store: store}
	var base []events.Change
	for i := range benchBatch {
		id := fmt.Sprint(i)
		base = append(base, contact{id: id, first: "F", last: id, email: id + "@x.example", sec: 1}.change())
	}
	for i := range 100 {
		base = append(base, account{id: fmt.Sprint(i), name: fmt.Sprint("Co", i), sec: 1}.change())
	}
	if _, err := apply.Handle(context.Background(), base); err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{"deals", "tasks", "notes"} {
		b.Run(kind, func(b *testing.B) {
			batches := make([][]events.Change, b.N)
			for n := range batches {
				for i := range benchBatch {
					id, person, company := fmt.Sprint(n*benchBatch+i), ref("contacts", fmt.Sprint(i)), ref("accounts", fmt.Sprint(i%100))
					var c events.Change
					switch kind {
					case "deals":
						c = dealChange(id, 10, "Deal "+id, []events.OroRef{person}, []events.OroRef{company})
					case "tasks":
						c = interactionChange("tasks", id, 10, "Task "+id, person, company, ref("contacts", fmt.Sprint((i+1)%benchBatch)))
					default:
						c = noteChange(id, 10, "Note "+id, person, company)
					}
					batches[n] = append(batches[n], c)
				}
			}
			b.ResetTimer()
			start := time.Now()
			for n := range b.N {
				if _, err := apply.Handle(context.Background(), batches[n]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*benchBatch)/time.Since(start).Seconds(), "records/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func TestEntityShowsItsNextScheduledOpenInteractionAsMercatoProjectsIt(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", sec: 1}.change())
	task := func(id string, sec int, title, status, scheduled string) events.Change {
		c := interactionChange("tasks", id, sec, title, ref("contacts", "1"))
		c.Interaction.Status, c.Interaction.ScheduledAt = status, &scheduled
		return c
	}
	later := task("1", 10, "Later", "planned", "2026-06-02T10:00:00Z")
	sooner := task("2", 10, "Sooner", "planned", "2026-06-01T10:00:00Z")
	e.apply(nil, later, sooner)
	next := func() (at *time.Time, name, ref *string) {
		if err := e.db.QueryRow(e.ctx, `SELECT next_interaction_at, next_interaction_name, next_interaction_ref_id
FROM customer_entities WHERE id = $1`, e.person("1").entityID).Scan(&at, &name, &ref); err != nil {
			t.Fatal(err)
		}
		return at, name, ref
	}
	soonerID, _ := e.mapped(events.AggregateInteraction, "tasks:2")
	if at, name, id := next(); at == nil || !at.Equal(time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)) || deref(name) != "Sooner" ||
		deref(id) != soonerID {
		t.Errorf("next interaction %v %s %s, want Sooner (%s)", at, deref(name), deref(id), soonerID)
	}
	e.apply(nil, task("2", 20, "Sooner", "done", "2026-06-01T10:00:00Z"))
	if _, name, _ := next(); deref(name) != "Later" {
		t.Errorf("next interaction %s once the sooner one is done, want Later", deref(name))
	}
	e.apply(nil, recordTombstone(later, 30))
	if at, name, id := next(); at != nil || name != nil || id != nil {
		t.Errorf("next interaction %v %s %s with none open", at, deref(name), deref(id))
	}
}

// sameRows reports the rows that differ between two recordRows listings.
func sameRows(t *testing.T, how, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for _, l := range gl {
		if !slices.Contains(wl, l) {
			t.Errorf("%s: extra row %s", how, l)
		}
	}
	for _, l := range wl {
		if !slices.Contains(gl, l) {
			t.Errorf("%s: missing row %s", how, l)
		}
	}
}
