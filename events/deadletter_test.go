package events

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestADeadLetterGivesBackItsOriginalPayloadByteForByte(t *testing.T) {
	bodies := map[string][]byte{
		"compact JSON":            []byte(`{"id":"7","name":"Ann"}`),
		"JSON with spaces":        []byte("{ \"id\": \"7\",\n  \"name\": \"Ann\" }"),
		"JSON with HTML":          []byte(`{"body":"<p>Tom & Jerry</p>"}`),
		"JSON with U+2028":        []byte("{\"note\":\"a\u2028b\"}"),
		"text":                    []byte("not json <at> all"),
		"bytes that are not UTF8": {0xff, 0xfe, '{', 0x00, 0x80},
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			var dl DeadLetter
			dl.SetPayload(body)
			_, _, enc := dl.Message()
			var back DeadLetter
			if err := json.Unmarshal(enc, &back); err != nil {
				t.Fatal(err)
			}
			got, ok := back.OriginalPayload()
			if !ok || !bytes.Equal(got, body) {
				t.Errorf("payload back %q (kept %v), want %q; dead letter %s", got, ok, body, enc)
			}
		})
	}
}

func TestADeadLetterWithoutPayloadSaysSo(t *testing.T) {
	dl := Oversize("transformer", &RecordRef{Tenant: "acme", Type: "contacts", ID: "1"}, StreamMercatoChanges,
		"mercato.changes.acme.person.contacts.1", []byte(`{}`), 2_000_000, 1_048_576, "ORO_RAW #4", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if b, ok := dl.OriginalPayload(); ok {
		t.Errorf("an oversize dead letter gives back %q, want nothing", b)
	}
}
