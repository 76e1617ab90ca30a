package rowkit

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
)

func TestOutboxBatchJSONDecodesToTheEventsItWasBuiltFrom(t *testing.T) {
	rows := []model.OrosyncOutbox{
		{Subject: "mercato.events.acme.customers.person.created.1", MsgID: "evt-1", EventType: "customers.person.created",
			Headers: `{"ce-source":"/orosync/acme/writer"}`, Payload: `{"id":"1","name":"Zoë \"Q\" <b>&</b>"}`},
		{Subject: "odd \"subject\" \\ with\ttab\nand \x01 ü", MsgID: "evt-2", EventType: "t", Headers: `{}`, Payload: `[1,2.5,null]`},
	}
	var got []BatchEvent
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
	if err := json.Unmarshal([]byte(OutboxHeaders(env)), &got); err != nil {
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
