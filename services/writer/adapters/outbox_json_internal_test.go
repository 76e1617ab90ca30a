package adapters

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
)

func TestOutboxBatchJSONDecodesToTheEventsItWasBuiltFrom(t *testing.T) {
	rows := []model.OrosyncOutbox{
		{Subject: "mercato.events.acme.customers.person.created.1", MsgID: "evt-1", EventType: "customers.person.created",
			Headers: `{"ce-source":"/orosync/acme/writer"}`, Payload: `{"id":"1","name":"Zoë \"Q\" <b>&</b>"}`},
		{Subject: "odd \"subject\" \\ with\ttab\nand \x01 ü", MsgID: "evt-2", EventType: "t", Headers: `{}`, Payload: `[1,2.5,null]`},
	}
	var got []batchEvent
	if err := json.Unmarshal([]byte(outboxBatchJSON(rows)), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("%d events, want %d", len(got), len(rows))
	}
	for i, r := range rows {
		g := got[i]
		if g.Subject != r.Subject || g.MsgID != r.MsgID || g.Type != r.EventType {
			t.Errorf("event %d: %q %q %q, want %q %q %q", i, g.Subject, g.MsgID, g.Type, r.Subject, r.MsgID, r.EventType)
		}
		for _, pair := range [][2]string{{string(g.Headers), r.Headers}, {string(g.Payload), r.Payload}} {
			var a, b any
			if err := json.Unmarshal([]byte(pair[0]), &a); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal([]byte(pair[1]), &b)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("event %d: %s, want %s", i, pair[0], pair[1])
			}
		}
	}
}

func TestOutboxHeadersAreTheEnvelopeHeadersTheRelayCannotDerive(t *testing.T) {
	env := events.Envelope{ID: "evt-1", Source: "/orosync/acme/writer", Type: "customers.person.created", Subject: "a\"b<c>",
		Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	var got map[string]string
	if err := json.Unmarshal([]byte(outboxHeaders(env)), &got); err != nil {
		t.Fatal(err)
	}
	want := env.Headers()
	for _, k := range []string{events.HeaderID, events.HeaderMsgID, events.HeaderType, events.HeaderSpecVersion, events.HeaderDataContentType} {
		delete(want, k)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("headers %v, want %v", got, want)
	}
}

// FuzzRelayHeadersAreWhatTheJSONDecoderReads: the relay's in-place reading of an outbox row's headers gives what
// the JSON decoder gives, or hands the row to it.
func FuzzRelayHeadersAreWhatTheJSONDecoderReads(f *testing.F) {
	f.Add(writerHeaders("acme", "0f0e-1", time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)))
	f.Add(`{}`)
	f.Add(`{"a":"b","a":"c"}`)
	f.Add(`{"a":"\u003c","b":"x"}`)
	f.Add(`{"a": "b"}`)
	f.Add(`{"a":"b",}`)
	f.Add("{\"a\":\"\xff\"}")
	f.Add(`{"a":1}`)
	f.Fuzz(func(t *testing.T, obj string) {
		plain := nats.Header{}
		if !setPlainHeaders(plain, obj) {
			return
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(obj), &m); err != nil {
			t.Fatalf("%q read in place as %v, but it is not a JSON object of strings: %v", obj, plain, err)
		}
		want := nats.Header{}
		for k, v := range m {
			want[k] = []string{v}
		}
		if !reflect.DeepEqual(plain, want) {
			t.Fatalf("%q: read in place as %v, the decoder reads %v", obj, plain, want)
		}
	})
}

func TestRelayHeadersOfEveryShapeAreSet(t *testing.T) {
	for _, obj := range []string{writerHeaders("acme", "x", time.Unix(0, 1)), `{"a":"\u003cb\u003e"}`, `{ "a" : "b" }`} {
		h := nats.Header{"stale": {"x"}}
		if err := setHeaders(h, obj); err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		_ = json.Unmarshal([]byte(obj), &m)
		if len(h) != len(m) {
			t.Errorf("%s: headers %v, want %v", obj, h, m)
		}
		for k, v := range m {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", obj, k, h.Get(k), v)
			}
		}
	}
	if err := setHeaders(nats.Header{}, `{"a":1}`); err == nil {
		t.Error("a header that is not a string was accepted")
	}
}
