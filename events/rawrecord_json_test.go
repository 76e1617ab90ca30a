package events

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func assertSameAsMarshal(t *testing.T, r RawRecord) {
	t.Helper()
	want, err := json.Marshal(r)
	got, ok := r.AppendJSON(nil)
	if !ok {
		return // left to json.Marshal
	}
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON\n%s\njson.Marshal (%v)\n%s", got, err, want)
	}
}

func TestRawRecordAppendJSONIsJSONMarshal(t *testing.T) {
	at := time.Date(2026, 11, 26, 1, 2, 3, 450_000_000, time.UTC)
	east := at.In(time.FixedZone("x", 5*3600+30*60))
	res := oroResources(t)
	odd := []json.RawMessage{
		json.RawMessage(" {\n \"a\" : \"<b>&amp;\u2028\u2029\\\" x\" ,\t\"b\":[ 1 , true ,null ] } "),
		json.RawMessage(`{"s":"\\\\\"<\u0026"}`),
		nil,
	}
	all := make([]json.RawMessage, 0, len(res)+len(odd))
	for _, r := range res {
		all = append(all, r)
	}
	for i, r := range append(all, odd...) {
		var indented bytes.Buffer
		_ = json.Indent(&indented, r, " ", "  ")
		for _, resource := range []json.RawMessage{r, indented.Bytes()} {
			rec := RawRecord{RecordRef: RecordRef{Tenant: "ac<me>&\u2028\xff", Type: "contacts", ID: "1\"\n"},
				PayloadHash: "h", ObservedAt: at, Via: "poll", Resource: resource}
			if i%2 == 0 {
				rec.UpdatedAt = &east
				rec.Included = append([]json.RawMessage{nil}, odd[:2]...)
			}
			assertSameAsMarshal(t, rec)
		}
	}
	if _, ok := (RawRecord{ObservedAt: at, Resource: json.RawMessage(`{}`)}).AppendJSON(nil); !ok {
		t.Fatal("a plain record was left to json.Marshal")
	}
}

func FuzzRawRecordAppendJSONIsJSONMarshal(f *testing.F) {
	for _, r := range oroResources(f) {
		f.Add("acme", "1", int64(0), 0, r, []byte(`{"x":"<"}`))
	}
	f.Fuzz(func(t *testing.T, tenant, id string, nanos int64, offMinutes int, resource, included []byte) {
		if !json.Valid(resource) || !json.Valid(included) {
			return // AppendJSON's precondition
		}
		at := time.Unix(0, nanos).In(time.FixedZone("z", (offMinutes%(48*60))*60))
		assertSameAsMarshal(t, RawRecord{RecordRef: RecordRef{Tenant: tenant, Type: "contacts", ID: id}, UpdatedAt: &at,
			PayloadHash: id, ObservedAt: at, Via: "poll", Resource: resource, Included: []json.RawMessage{included}})
	})
}

func BenchmarkRawRecordBody(b *testing.B) {
	at := time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)
	var recs []RawRecord
	for _, r := range oroResources(b) {
		recs = append(recs, RawRecord{RecordRef: RecordRef{Tenant: "acme", Type: "contacts", ID: "1"}, UpdatedAt: &at,
			PayloadHash: "h", ObservedAt: at, Via: "poll", Resource: r})
	}
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			for _, r := range recs {
				if _, err := json.Marshal(r); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		for b.Loop() {
			for _, r := range recs {
				if _, ok := r.AppendJSON(nil); !ok {
					b.Fatal("not encoded")
				}
			}
		}
	})
}
