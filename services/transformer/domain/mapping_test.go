package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/mappings"
)

func oroRecord(t testing.TB, typ, id, body string, included ...string) events.RawRecord {
	t.Helper()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res := json.RawMessage(`{"type":"` + typ + `","id":"` + id + `",` + body + `}`)
	h, err := events.PayloadHash(res)
	if err != nil {
		t.Fatal(err)
	}
	r := events.RawRecord{RecordRef: events.RecordRef{Tenant: "acme", Type: typ, ID: id}, UpdatedAt: &at, PayloadHash: h, Resource: res}
	for _, inc := range included {
		r.Included = append(r.Included, json.RawMessage(inc))
	}
	return r
}

func mustMap(t *testing.T, r events.RawRecord) events.Change {
	t.Helper()
	res, err := Default().Map(r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Change == nil {
		t.Fatalf("no change: %s", res.Skipped)
	}
	return *res.Change
}

func TestShippedMappings(t *testing.T) {
	entries, err := mappings.Files.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("parse, named after their version", func(t *testing.T) {
		for _, e := range entries {
			b, _ := mappings.Files.ReadFile(e.Name())
			m, err := Parse(b)
			if err != nil {
				t.Errorf("%s: %v", e.Name(), err)
				continue
			}
			if m.Version+".yaml" != e.Name() {
				t.Errorf("%s declares version %s: the file is named after its version", e.Name(), m.Version)
			}
		}
	})
	t.Run("the default maps every Oro type", func(t *testing.T) {
		for _, typ := range []string{"contacts", "accounts", "b2bcustomers", "leads", "opportunities", "tasks", "calls", "emails", "cases", "notes", "users"} {
			if _, ok := Default().types[typ]; !ok {
				t.Errorf("default mapping has no entry for %s", typ)
			}
		}
	})
}

func TestContactInThreeAccountsYieldsThreeLinksWithTheDefaultAccountPrimary(t *testing.T) {
	c := mustMap(t, oroRecord(t, "contacts", "7", `"attributes":{"firstName":"Ann"},"relationships":{
		"accounts":{"data":[{"type":"accounts","id":"1"},{"type":"accounts","id":"2"},{"type":"accounts","id":"3"}]},
		"defaultInAccounts":{"data":[{"type":"accounts","id":"2"}]}}`))
	links := c.Person.CompanyLinks
	if len(links) != 3 {
		t.Fatalf("links %+v", links)
	}
	for i, l := range links {
		if l.Company != (events.OroRef{Type: "accounts", ID: string(rune('1' + i))}) || l.IsPrimary != (i == 1) {
			t.Errorf("link %d = %+v", i, l)
		}
	}
}

func TestTaskWithFourTargets(t *testing.T) {
	c := mustMap(t, oroRecord(t, "tasks", "9", `"attributes":{"subject":"Call back","dueDate":"2026-02-01T10:00:00+01:00"},
		"relationships":{"status":{"data":{"type":"taskstatuses","id":"closed"}},"taskPriority":{"data":{"type":"taskpriorities","id":"high"}},
		"activityTargets":{"data":[{"type":"users","id":"1"},{"type":"contacts","id":"5"},{"type":"accounts","id":"6"},{"type":"opportunities","id":"7"}]}}`))
	in := c.Interaction
	if c.Aggregate != events.AggregateInteraction || in == nil || len(in.Participants) != 4 || len(in.LinkedEntities) != 4 {
		t.Fatalf("change %+v", c)
	}
	t.Run("has a contact as its entity", func(t *testing.T) {
		if *in.Entity != (events.OroRef{Type: "contacts", ID: "5"}) || in.Status != "done" || *in.Priority != 3 ||
			*in.ScheduledAt != "2026-02-01T09:00:00Z" {
			t.Errorf("interaction %+v", in)
		}
	})
}

func TestOpportunityBecomesMercatoDealValues(t *testing.T) {
	c := mustMap(t, oroRecord(t, "opportunities", "3", `"attributes":{"name":"Big","probability":0.35,"budgetAmountValue":"50.0000",
		"budgetAmountCurrency":"EUR","closeRevenueValue":null,"closeRevenueCurrency":null,"closeDate":"2026-06-30"},
		"relationships":{"status":{"data":{"type":"opportunitystatuses","id":"won"}},"contact":{"data":{"type":"contacts","id":"4"}},
		"account":{"data":{"type":"accounts","id":"8"}}}`))
	d := c.Deal
	if d.Status != "win" || *d.Probability != 35 || *d.ValueAmount != "50.0000" || *d.ValueCurrency != "EUR" ||
		*d.ExpectedCloseAt != "2026-06-30" || len(d.People) != 1 || len(d.Companies) != 1 || d.LossReason != nil {
		t.Errorf("deal %+v", d)
	}
}

func TestContactAddressesComeFromIncludedResourcesPrimaryFirstKept(t *testing.T) {
	c := mustMap(t, oroRecord(t, "contacts", "7", `"attributes":{"firstName":"Ann"},"relationships":{"addresses":{"data":[{"type":"contactaddresses","id":"11"},{"type":"contactaddresses","id":"12"}]}}`,
		`{"type":"contactaddresses","id":"11","attributes":{"primary":true,"street":"1 Main St","city":"Kraków","postalCode":"30-001"},"relationships":{"country":{"data":{"type":"countries","id":"PL"}},"types":{"data":[{"type":"addresstypes","id":"billing"}]}}}`))
	a := c.Person.Addresses
	if len(a) != 2 || *a[0].AddressLine1 != "1 Main St" || *a[0].Country != "PL" || !a[0].IsPrimary || *a[0].Purpose != "billing" {
		t.Fatalf("addresses %+v", a)
	}
	if a[1].Source.ID != "12" || a[1].AddressLine1 != nil {
		t.Errorf("an address that was not included must stay a bare reference: %+v", a[1])
	}
}

func TestB2BCustomerWithAnAccountMergesIntoThatAccountsCompany(t *testing.T) {
	c := mustMap(t, oroRecord(t, "b2bcustomers", "5", `"attributes":{"name":"Acme GmbH","lifetime":"100.0000"},"relationships":{"account":{"data":{"type":"accounts","id":"8"}}}`))
	if c.Aggregate != events.AggregateCompany || *c.Company.MergeInto != (events.OroRef{Type: "accounts", ID: "8"}) || c.Company.CustomFields["oro_lifetime_value"] != "100.0000" {
		t.Errorf("company %+v", c.Company)
	}
}

func TestNoteBecomesACommentOnEveryTarget(t *testing.T) {
	c := mustMap(t, oroRecord(t, "notes", "2", `"attributes":{"message":"hello"},"relationships":{"activityTargets":{"data":[{"type":"contacts","id":"1"},{"type":"accounts","id":"2"}]}}`))
	if c.Comment == nil || c.Comment.Body != "hello" || len(c.Comment.Targets) != 2 {
		t.Errorf("comment %+v", c.Comment)
	}
}

func TestTombstoneOfAnyTypeDeletesItsAggregate(t *testing.T) {
	res, err := Default().MapTombstone(events.Tombstone{RecordRef: events.RecordRef{Tenant: "acme", Type: "opportunities", ID: "3"}})
	if err != nil || res.Change.Op != events.OpDelete || res.Change.Aggregate != events.AggregateDeal || res.Change.MappingVersion != MappingVersion {
		t.Errorf("%+v, %v", res, err)
	}
}

// Hand-picked bad inputs: none panics, each is a FieldError naming field and rule.
func TestBadInputsBecomeFieldErrorsNamingWhatIsWrong(t *testing.T) {
	big := strings.Repeat("x", 10<<20)
	invalid := oroRecord(t, "contacts", "7", `"attributes":{"firstName":"Ann"}`)
	invalid.Resource = json.RawMessage("{\"type\":\"contacts\",\"id\":\"7\",\"attributes\":{\"firstName\":\"\xff\xfe\"}}")
	for _, tc := range []struct {
		name        string
		r           events.RawRecord
		field, rule string
	}{
		{"wrong type of attribute", oroRecord(t, "contacts", "7", `"attributes":{"firstName":42}`), "attributes.firstName", "string"},
		{"wrong type of list", oroRecord(t, "contacts", "7", `"attributes":{"firstName":"A","emails":"a@b.c"}`), "attributes.emails", "expr"},
		{"wrong type of relationship", oroRecord(t, "contacts", "7", `"attributes":{"firstName":"A"},"relationships":{"accounts":{"data":"x"}}`), "relationships.accounts", "relationship"},
		{"missing id", func() events.RawRecord {
			r := oroRecord(t, "contacts", "7", `"attributes":{"firstName":"A"}`)
			r.Resource = json.RawMessage(`{"type":"contacts","attributes":{"firstName":"A"}}`)
			return r
		}(), "resource", "json"},
		{"10 MB string", oroRecord(t, "contacts", "7", `"attributes":{"firstName":"`+big+`"}`), "attributes.firstName", "max-length"},
		{"10 MB note", oroRecord(t, "notes", "7", `"attributes":{"message":"`+big+`"}`), "attributes.message", "max-length"},
		{"invalid UTF-8", invalid, "resource", "utf8"},
		{"unknown type", oroRecord(t, "widgets", "7", `"attributes":{}`), "type", "known-type"},
		{"bad email in the list", oroRecord(t, "contacts", "7", `"attributes":{"firstName":"A","emails":[{"email":"nope"}]}`), "attributes.emails", "email"},
		{"probability out of range", oroRecord(t, "opportunities", "7", `"attributes":{"name":"A","probability":7}`), "attributes.probability", "fraction"},
		{"bad date", oroRecord(t, "opportunities", "7", `"attributes":{"name":"A","closeDate":"tomorrow"}`), "attributes.closeDate", "date"},
		{"bad included address", oroRecord(t, "contacts", "7", `"attributes":{"firstName":"A"},"relationships":{"addresses":{"data":[{"type":"contactaddresses","id":"1"}]}}`,
			`{"type":"contactaddresses","id":"1","attributes":{"street":["x"]}}`), "included.contactaddresses.1.attributes.street", "string"},
		{"nameless account", oroRecord(t, "accounts", "7", `"attributes":{"name":"  "}`), "attributes.name", "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Default().Map(tc.r)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if fe.Field != tc.field || fe.Rule != tc.rule || fe.Record != tc.r.RecordRef || len(fe.Error()) > 2000 {
				t.Errorf("FieldError %s/%s %q, want %s/%s", fe.Field, fe.Rule, abbreviate(fe.Error()), tc.field, tc.rule)
			}
		})
	}
}

func TestMappingFilesAreCheckedStrictly(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown key":                                "version: v9\ntypes: {contacts: {aggregate: customers.person, fields: [], colour: red}}",
		"unknown converter":                          "version: v9\ntypes: {contacts: {aggregate: customers.person, fields: [{to: firstName, from: attributes.firstName, as: upper}]}}",
		"bad expression":                             "version: v9\ntypes: {contacts: {aggregate: customers.person, fields: [{to: firstName, expr: 'attr.(('}]}}",
		"unknown aggregate":                          "version: v9\ntypes: {contacts: {aggregate: customers.planet, fields: []}}",
		"no version":                                 "types: {}",
		"field to nowhere":                           "version: v9\ntypes: {contacts: {aggregate: customers.person, fields: [{to: shoeSize, expr: '42'}]}}",
		"custom field without a definition":          "version: v9\ntypes: {contacts: {aggregate: customers.person, fields: [], custom: {attributes.shoe: shoe_size}}}",
		"computed custom field without a definition": "version: v9\ntypes: {contacts: {aggregate: customers.person, fields: [{to: customFields, expr: '{\"oro_mood\": attr.mood}'}]}}",
		"definition of an unknown kind":              "version: v9\ntypes: {contacts: {aggregate: customers.person, fields: [], custom: {attributes.shoe: shoe_size}}}\ncustomFields: {shoe_size: {kind: date}}",
		"options of a text":                          "version: v9\ntypes: {contacts: {aggregate: customers.person, fields: [], custom: {attributes.shoe: shoe_size}}}\ncustomFields: {shoe_size: {kind: text, options: [a]}}",
		"definition nothing uses":                    "version: v9\ntypes: {contacts: {aggregate: customers.person, fields: []}}\ncustomFields: {shoe_size: {kind: text}}",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(doc)); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestFidelityReportIsDerivedFromTheMapping(t *testing.T) {
	m, err := Parse([]byte(`version: v2
types:
  contacts:
    aggregate: customers.person
    fields:
      - {to: displayName, expr: 'text(attr.nickname) ?? "?"'}
      - {to: owner, from: relationships.owner, as: ref}
      - {to: customFields, expr: '{"oro_mood": attr.mood}'}
    custom: {attributes.shoe: shoe_size}
    dropped: {attributes.secret: not ours}
customFields:
  shoe_size: {kind: integer}
  oro_mood: {kind: text}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range m.Report() {
		got[l.Field] = l.Disposition + ":" + strings.Join(l.To, ",")
	}
	want := map[string]string{"attributes.nickname": "mapped:displayName", "relationships.owner": "mapped:owner",
		"attributes.shoe": "custom-field:shoe_size", "attributes.mood": "custom-field:oro_mood", "attributes.secret": "dropped:"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("report %v", got)
	}
}

func FuzzParseDocumentAndMap(f *testing.F) {
	for _, doc := range responseFixtures(f) {
		f.Add(doc)
	}
	f.Add([]byte(`{"data":[{"type":"contacts","id":"1","attributes":{"firstName":"\u0000"}}]}`))
	f.Add([]byte(`{"data":{"type":"tasks","id":"1","relationships":{"activityTargets":{"data":[{"type":"x"}]}}}}`))
	m := Default()
	f.Fuzz(func(t *testing.T, doc []byte) {
		records, err := ParseDocument(doc, "acme", previewTime)
		if err != nil {
			return
		}
		for _, l := range m.Preview(records) {
			if l.DeadLetter != nil && (l.DeadLetter.Field == "" || l.DeadLetter.Rule == "" || l.DeadLetter.Rule == "internal") {
				t.Fatalf("dead letter without field and rule: %+v", l.DeadLetter)
			}
			if l.Change != nil {
				if _, err := l.Change.Subject(); err != nil {
					t.Fatalf("change without a subject: %v", err)
				}
			}
		}
	})
}

func TestOpportunityStatusIsAStageOfOrosPipelineWithItsDefaultProbability(t *testing.T) {
	d := mustMap(t, oroRecord(t, "opportunities", "4", `"attributes":{"name":"Big"},"relationships":{"status":{"data":{"type":"opportunitystatuses","id":"solution_development"}},"account":{"data":{"type":"accounts","id":"2"}}}`)).Deal
	if d.Stage == nil || d.Stage.Label != "Solution Development" || d.Stage.Order != 3 || d.Probability == nil || *d.Probability != 50 {
		t.Errorf("stage %+v, probability %v: want Solution Development at 3, Oro's default 50 %%", d.Stage, d.Probability)
	}
	var labels []string
	for i, st := range d.Pipeline {
		if st.Order != i {
			t.Errorf("stage %s at %d, want %d", st.ID, st.Order, i)
		}
		labels = append(labels, st.Label)
	}
	if got := strings.Join(labels, ","); got != "Open,Identification & Alignment,Needs Analysis,Solution Development,Negotiation,Closed Won,Closed Lost" {
		t.Errorf("pipeline %s", got)
	}
	t.Run("a status Oro added is a stage after Oro's own", func(t *testing.T) {
		d := mustMap(t, oroRecord(t, "opportunities", "5", `"attributes":{"name":"Big","probability":0.35},"relationships":{"status":{"data":{"type":"opportunitystatuses","id":"demo_booked"}},"account":{"data":{"type":"accounts","id":"2"}}}`)).Deal
		if d.Stage == nil || d.Stage.Label != "demo_booked" || d.Stage.Order != 7 || *d.Probability != 35 {
			t.Errorf("stage %+v, probability %v", d.Stage, d.Probability)
		}
	})
}

func TestEveryCustomFieldOfTheDefaultMappingHasAMercatoDefinitionPerEntity(t *testing.T) {
	m := Default()
	defs := map[string]events.CustomFieldDef{}
	for _, d := range m.CustomFieldDefs() {
		defs[d.Entity+" "+d.Key] = d
	}
	for key, want := range map[string]string{
		"customers:customer_person_profile oro_birthday":            "text",
		"customers:customer_person_profile oro_gender":              "select",
		"customers:customer_person_profile oro_number_of_employees": "integer",
		"customers:customer_company_profile oro_lifetime_value":     "float",
		"customers:customer_company_profile oro_external_id":        "text",
		"customers:customer_deal oro_budget_amount":                 "float",
		"customers:customer_deal oro_budget_currency":               "currency",
		"customers:customer_interaction oro_direction":              "select",
		"customers:customer_interaction oro_has_attachments":        "boolean",
		"customers:customer_interaction oro_to":                     "text",
	} {
		if defs[key].Kind != want {
			t.Errorf("%s: kind %q, want %q", key, defs[key].Kind, want)
		}
	}
	if d := defs["customers:customer_interaction oro_direction"]; strings.Join(d.Options, ",") != "incoming,outgoing" {
		t.Errorf("direction options %v", d.Options)
	}
	if !defs["customers:customer_interaction oro_to"].Multi {
		t.Error("oro_to is not multi")
	}
	for k := range defs {
		if strings.Contains(k, "oro_first_name") || strings.Contains(k, "oro_address_types") {
			t.Errorf("%s: addresses carry no Mercato custom fields", k)
		}
	}
}

func TestRelationshipsKeptAsCustomFieldsCarryTheRelatedIds(t *testing.T) {
	ch := mustMap(t, oroRecord(t, "contacts", "1", `"attributes":{"firstName":"Ann"}`+
		`,"relationships":{"method":{"data":{"type":"contactmethods","id":"phone"}},"groups":{"data":[{"type":"contactgroups","id":"7"},{"type":"contactgroups","id":"9"}]}}`))
	cf := ch.Person.CustomFields
	if cf["oro_method"] != "phone" || fmt.Sprint(cf["oro_groups"]) != "[7 9]" {
		t.Errorf("custom fields %v", cf)
	}
}

// An activity on a case lands on the case's person or company; the Oro cases it targets stay in a custom field.
func TestActivityKeepsTheCasesItTargetsInACustomField(t *testing.T) {
	targets := `"relationships":{"activityTargets":{"data":[{"type":"contacts","id":"1"},{"type":"cases","id":"5"},{"type":"cases","id":"6"}]}}`
	for _, typ := range []string{"tasks", "calls", "emails"} {
		raw := oroRecord(t, typ, "3", `"attributes":{"subject":"x"},`+targets)
		in := mustMap(t, raw).Interaction
		body, _ := json.Marshal(raw)
		if fast, ok := Default().MapRawJSON(body, raw.RecordRef); ok && !reflect.DeepEqual(fast.Change.Interaction, in) {
			t.Errorf("%s: the fast path maps %+v, the reference %+v", typ, fast.Change.Interaction, in)
		}
		if got := fmt.Sprint(in.CustomFields["oro_case_targets"]); got != "[5 6]" {
			t.Errorf("%s: oro_case_targets %s, want [5 6]", typ, got)
		}
		if len(in.Participants) != 3 {
			t.Errorf("%s: targets %v, want all three", typ, in.Participants)
		}
	}
	in := mustMap(t, oroRecord(t, "tasks", "4", `"attributes":{"subject":"x"},"relationships":{"activityTargets":{"data":[{"type":"contacts","id":"1"}]}}`)).Interaction
	if _, ok := in.CustomFields["oro_case_targets"]; ok {
		t.Errorf("a task on no case has oro_case_targets %v", in.CustomFields)
	}
}
