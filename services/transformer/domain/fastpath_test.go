package domain

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/internal/oroload"
)

// referenceMap is what the transformer did before the fast path: encoding/json, the identity check, Map.
func referenceMap(m *Mapping, body []byte, ref events.RecordRef) (Result, error) {
	var raw events.RawRecord
	if err := json.Unmarshal(body, &raw); err != nil {
		return Result{}, err
	}
	if raw.RecordRef != ref {
		return Result{}, errors.New("identity")
	}
	return m.Map(raw)
}

// fixtureBodies are the raw record message bodies the poller would publish for every response fixture.
func fixtureBodies(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for name, doc := range responseFixtures(t) {
		records, err := ParseDocument(doc, "acme", previewTime)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range records {
			body, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			out[name+"/"+r.Type+"/"+r.ID] = body
		}
	}
	return out
}

func refOf(body []byte) events.RecordRef {
	var r events.RecordRef
	_ = json.Unmarshal(body, &r)
	return r
}

func TestFastPathMapsEveryFixtureExactlyAsMapDoes(t *testing.T) {
	m := Default()
	for name, body := range fixtureBodies(t) {
		ref := refOf(body)
		want, err := referenceMap(m, body, ref)
		if err != nil && fixtureActivitiesWithoutTarget[ref.String()] {
			// an activity no Mercato record can hold: the fast path leaves it to the reference path's dead letter
			if got, ok := m.MapRawJSON(body, ref); ok {
				t.Errorf("%s: fast path mapped it to %+v, want it left to the reference path", name, got)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: reference: %v", name, err)
		}
		got, ok := m.MapRawJSON(body, ref)
		if !ok {
			t.Errorf("%s: the fast path refused a well-formed fixture", name)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("%s: fast path\n%s\nreference\n%s", name, g, w)
		}
	}
}

func TestFastPathLeavesOddInputToTheReferencePath(t *testing.T) {
	m := Default()
	ref := events.RecordRef{Tenant: "acme", Type: "contacts", ID: "1"}
	body := func(resource string) string {
		return `{"tenant":"acme","type":"contacts","id":"1","updatedAt":"2026-01-02T03:04:05Z","payloadHash":"h","resource":` + resource + `}`
	}
	good := `{"type":"contacts","id":"1","attributes":{"firstName":"Zoë"}}`
	if _, ok := m.MapRawJSON([]byte(body(good)), ref); !ok {
		t.Fatal("a plain contact was refused")
	}
	for name, b := range map[string]string{
		"lone surrogate escape":      body(`{"type":"contacts","id":"1","attributes":{"firstName":"\ud800"}}`),
		"case-folded struct key":     body(`{"type":"contacts","ID":"1","attributes":{"firstName":"Zoë"}}`),
		"repeated attributes":        body(`{"type":"contacts","id":"1","attributes":{"firstName":"A"},"attributes":{"lastName":"B"}}`),
		"escaped time":               strings.Replace(body(good), `"2026-01-02`, `"2026\u002d01-02`, 1),
		"number out of float range":  body(`{"type":"contacts","id":"1","attributes":{"firstName":"Zoë","emails":[{"email":1e999}]}}`),
		"unused relationship broken": body(`{"type":"contacts","id":"1","attributes":{"firstName":"Zoë"},"relationships":{"createdBy":{"data":{"type":"users"}}}}`),
		"invalid UTF-8":              body("{\"type\":\"contacts\",\"id\":\"1\",\"attributes\":{\"firstName\":\"\xc3\x28\"}}"),
		"trailing garbage":           body(good) + "x",
		"rule broken":                body(`{"type":"contacts","id":"1","attributes":{}}`),
		"other record":               strings.Replace(body(good), `"id":"1"`, `"id":"2"`, 1),
	} {
		if r, ok := m.MapRawJSON([]byte(b), ref); ok {
			t.Errorf("%s: fast path took it: %+v", name, r)
		}
	}
}

func FuzzFastPathAgreesWithMap(f *testing.F) {
	for _, body := range fixtureBodies(f) {
		f.Add(body)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := events.RawRecord{RecordRef: events.RecordRef{Tenant: "acme", Type: "contacts", ID: "1"}, UpdatedAt: &at,
		Resource: json.RawMessage(`{"type":"contacts","id":"1","attributes":{"firstName":"\u00e9\ud83d\ude00","emails":[{"email":"a@b.c"}]},"relationships":{"accounts":{"data":[{"type":"accounts","id":"1"}]}}}`)}
	b, _ := json.Marshal(r)
	f.Add(b)
	m := Default()
	f.Fuzz(func(t *testing.T, body []byte) {
		ref := refOf(body)
		got, ok := m.MapRawJSON(body, ref)
		if !ok {
			return
		}
		want, err := referenceMap(m, body, ref)
		if err != nil {
			t.Fatalf("fast path mapped what the reference path refuses (%v): %+v", err, got)
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Fatalf("fast path\n%s\nreference\n%s", g, w)
		}
	})
}

func TestEncodeChangeIsEncodingJSON(t *testing.T) {
	m := Default()
	bodies := fixtureBodies(t)
	// HTML-sensitive characters, escapes, non-ASCII, numbers in custom fields.
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	odd := events.RawRecord{RecordRef: events.RecordRef{Tenant: "acme", Type: "contacts", ID: "1"}, UpdatedAt: &at,
		Resource: json.RawMessage(`{"type":"contacts","id":"1","attributes":{"firstName":"<b>Zoë</b> & \"Ørsted\"\n\u2028",` +
			`"description":"tab\there \\ back","externalId":"x","gender":"f","birthday":"1980-01-02","fax":"+1 (555) 0100"},` +
			`"relationships":{"groups":{"data":[{"type":"contactgroups","id":"1"}]}}}`)}
	b, _ := json.Marshal(odd)
	bodies["odd"] = b
	for name, body := range bodies {
		res, err := referenceMap(m, body, refOf(body))
		if err != nil || res.Change == nil {
			if name == "odd" {
				t.Fatalf("the odd contact did not map: %v", err)
			}
			continue
		}
		got, err := EncodeChange(res.Change)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(res.Change)
		if string(got) != string(want) {
			t.Errorf("%s:\n%s\nencoding/json:\n%s", name, got, want)
		}
	}
}

// TestFastPathChangesOutliveTheDecodersScratch: the decoder reuses its maps record after record; a change already
// returned is unaffected by the records mapped after it.
func TestFastPathChangesOutliveTheDecodersScratch(t *testing.T) {
	m := Default()
	bodies := fixtureBodies(t)
	type mapped struct {
		name string
		res  Result
		json string
	}
	var all []mapped
	for round := range 3 {
		for name, body := range bodies {
			res, ok := m.MapRawJSON(body, refOf(body))
			if !ok || res.Change == nil {
				continue
			}
			js, err := json.Marshal(res.Change)
			if err != nil {
				t.Fatal(err)
			}
			if round == 0 {
				all = append(all, mapped{name, res, string(js)})
			}
		}
	}
	if len(all) == 0 {
		t.Fatal("no fixture maps to a change")
	}
	for _, a := range all {
		js, err := json.Marshal(a.res.Change)
		if err != nil {
			t.Fatal(err)
		}
		if string(js) != a.json {
			t.Errorf("%s changed after later records were mapped:\n%s\nwas\n%s", a.name, js, a.json)
		}
	}
}

// TestFastPathMapsTheBenchmarkContactAsMapDoes: the realistic contact of the benchmarks (an included address,
// two accounts, owners) maps on the fast path, record after record, exactly as on the reference path.
func TestFastPathMapsTheBenchmarkContactAsMapDoes(t *testing.T) {
	m := Default()
	for i := range 3 {
		r, err := oroload.Contact("acme", strconv.Itoa(i+1))
		if err != nil {
			t.Fatal(err)
		}
		body, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		want, err := referenceMap(m, body, r.RecordRef)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := m.MapRawJSON(body, r.RecordRef)
		if !ok {
			t.Fatal("the fast path refused the contact")
		}
		if p := got.Change.Person; len(p.Addresses) != 1 || len(p.CompanyLinks) != 2 || p.Addresses[0].City == nil {
			t.Errorf("contact %d: want its address and both accounts, got %+v", i+1, p)
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("contact %d: fast path\n%s\nreference\n%s", i+1, g, w)
		}
	}
}
