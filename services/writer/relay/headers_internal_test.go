package relay

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

// FuzzRelayHeadersAreWhatTheJSONDecoderReads: the relay's in-place reading of an outbox row's headers gives what
// the JSON decoder gives, or hands the row to it.
func FuzzRelayHeadersAreWhatTheJSONDecoderReads(f *testing.F) {
	f.Add(rowkit.WriterHeaders("acme", "0f0e-1", time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)))
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
	for _, obj := range []string{rowkit.WriterHeaders("acme", "x", time.Unix(0, 1)), `{"a":"\u003cb\u003e"}`, `{ "a" : "b" }`} {
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
