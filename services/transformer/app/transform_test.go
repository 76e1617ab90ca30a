package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
)

var at = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func rawMessage(t testing.TB, typ, id, resource string) Incoming {
	t.Helper()
	res := json.RawMessage(resource)
	h, err := events.PayloadHash(res)
	if err != nil {
		h = "not-json"
	}
	r := events.RawRecord{RecordRef: events.RecordRef{Tenant: "acme", Type: typ, ID: id}, UpdatedAt: &at, PayloadHash: h,
		ObservedAt: at, Via: "poll", Resource: res}
	body, err := json.Marshal(r)
	if err != nil {
		body = []byte(`{"tenant":"acme","type":"` + typ + `","id":"` + id + `","resource":` + resource + `}`)
	}
	hdr := events.Envelope{ID: r.MsgID(), Source: events.Source("acme", "poller"), Type: events.TypeRawRecord, Time: at}.Headers()
	return Incoming{Subject: "oro.raw.acme." + typ + "." + id, Header: func(k string) string { return hdr[k] }, Headers: hdr, Body: body}
}

const contact = `{"type":"contacts","id":"42","attributes":{"firstName":"Zoë","lastName":"Łukasiewicz","primaryEmail":"zoe@example.com",
"primaryPhone":"+48 600 100 200","jobTitle":"CTO","birthday":"1980-01-02","emails":[{"email":"zoe@example.com"},{"email":"z@example.org"}],
"phones":[{"phone":"+48 600 100 200"}],"updatedAt":"2026-03-01T12:00:00Z","createdAt":"2026-01-01T12:00:00Z"},
"relationships":{"owner":{"data":{"type":"users","id":"1"}},"accounts":{"data":[{"type":"accounts","id":"7"},{"type":"accounts","id":"8"}]},
"defaultInAccounts":{"data":[{"type":"accounts","id":"7"}]},"addresses":{"data":[]},"source":{"data":null}}}`

func TestContactBecomesOneChangeOnItsPersonSubjectWithTheMappingVersion(t *testing.T) {
	out, err := Transform{Now: func() time.Time { return at }}.Handle(rawMessage(t, "contacts", "42", contact))
	if err != nil || len(out) != 1 {
		t.Fatalf("%v, %v", out, err)
	}
	var c events.Change
	if err := json.Unmarshal(out[0].Body, &c); err != nil {
		t.Fatal(err)
	}
	if out[0].Subject != "mercato.changes.acme.person.contacts.42" || c.MappingVersion != "oro-v1" || c.Person.DisplayName != "Zoë Łukasiewicz" ||
		len(c.Person.CompanyLinks) != 2 || out[0].Envelope.ID != c.MsgID() || out[0].Extensions[events.HeaderMappingVersion] != "oro-v1" {
		t.Errorf("%s %s", out[0].Subject, out[0].Body)
	}
}

func TestEveryBadInputBecomesADeadLetterNamingWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		name, typ, resource, field, rule string
	}{
		{"wrong attribute type", "contacts", `{"type":"contacts","id":"1","attributes":{"firstName":{"a":1}}}`, "attributes.firstName", "string"},
		{"missing id", "contacts", `{"type":"contacts","attributes":{"firstName":"A"}}`, "resource", "json"},
		{"10 MB string", "contacts", `{"type":"contacts","id":"1","attributes":{"firstName":"` + strings.Repeat("é", 5<<20) + `"}}`, "attributes.firstName", "max-length"},
		{"unknown type", "widgets", `{"type":"widgets","id":"1"}`, "type", "known-type"},
		{"NUL in a name", "contacts", `{"type":"contacts","id":"1","attributes":{"firstName":"Ada\u0000Lovelace"}}`, "attributes.firstName", "nul"},
		{"invalid UTF-8", "contacts", "{\"type\":\"contacts\",\"id\":\"1\",\"attributes\":{\"firstName\":\"\xc3\x28\"}}", "resource", "utf8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Transform{}.Handle(rawMessage(t, tc.typ, "1", tc.resource))
			if err != nil || len(out) != 1 {
				t.Fatalf("%v, %v", out, err)
			}
			var dl events.DeadLetter
			if err := json.Unmarshal(out[0].Body, &dl); err != nil {
				t.Fatal(err)
			}
			if out[0].Envelope.Type != events.TypeDeadLetter || dl.Field != tc.field || dl.Rule != tc.rule || dl.Record == nil ||
				dl.Record.ID != "1" || dl.Reason == "" {
				t.Errorf("dead letter %s/%s %q, want %s/%s", dl.Field, dl.Rule, dl.Reason, tc.field, tc.rule)
			}
		})
	}
}

func TestIgnoredTypesAreAcknowledgedWithoutAChange(t *testing.T) {
	out, err := Transform{}.Handle(rawMessage(t, "asyncoperations", "1", `{"type":"asyncoperations","id":"1","attributes":{}}`))
	if err != nil || len(out) != 0 {
		t.Errorf("%v, %v", out, err)
	}
}

// BenchmarkTransformContacts measures the transformer alone: raw message in, encoded change out, on every core.
func BenchmarkTransformContacts(b *testing.B) {
	msgs := make([]Incoming, 1000)
	for i := range msgs {
		id := fmt.Sprint(i + 1)
		msgs[i] = rawMessage(b, "contacts", id, strings.Replace(contact, `"id":"42"`, `"id":"`+id+`"`, 1))
	}
	tr := Transform{Now: func() time.Time { return at }}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			out, err := tr.Handle(msgs[i%len(msgs)])
			if err != nil || len(out) != 1 || out[0].Envelope.Type != events.TypeChange {
				b.Fatalf("%v %v", out, err)
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func TestARepairedVersionsChangeHasAnIDOfItsOwn(t *testing.T) {
	in := rawMessage(t, "contacts", "42", contact)
	in.Headers[events.HeaderRepair] = "pass-7"
	out, err := Transform{Now: func() time.Time { return at }}.Handle(in)
	if err != nil || len(out) != 1 {
		t.Fatalf("%v, %v", out, err)
	}
	var c events.Change
	if err := json.Unmarshal(out[0].Body, &c); err != nil {
		t.Fatal(err)
	}
	if out[0].Envelope.ID != events.RepairID(c.MsgID(), "pass-7") || out[0].Extensions[events.HeaderRepair] != "pass-7" ||
		out[0].Extensions[events.HeaderMappingVersion] != "oro-v1" {
		t.Errorf("id %s, extensions %v; want the repair's id and header beside the mapping", out[0].Envelope.ID, out[0].Extensions)
	}
	plain, _ := Transform{Now: func() time.Time { return at }}.Handle(rawMessage(t, "contacts", "42", contact))
	if _, ok := plain[0].Extensions[events.HeaderRepair]; ok || plain[0].Envelope.ID != c.MsgID() {
		t.Error("the repair leaked into the mapping's shared extensions or the plain change's id")
	}
}
