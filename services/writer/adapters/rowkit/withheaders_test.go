package rowkit

import (
	"encoding/json"
	"maps"
	"testing"
)

func TestWithHeadersAddsHeadersToAnOutboxRowsJSON(t *testing.T) {
	trace := map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "tracestate": "a=1"}
	for _, obj := range []string{`{"ce-source":"/orosync/acme/writer","ce-time":"2026-01-02T03:04:05Z"}`, `{}`, ``, ` { "ce-subject" : "x\"y" } `} {
		got := WithHeaders(obj, trace)
		var m map[string]string
		if err := json.Unmarshal([]byte(got), &m); err != nil {
			t.Fatalf("WithHeaders(%q) = %q: not a JSON object: %v", obj, got, err)
		}
		want := map[string]string{}
		if obj != "" {
			_ = json.Unmarshal([]byte(obj), &want)
		}
		maps.Copy(want, trace)
		if !maps.Equal(m, want) {
			t.Errorf("WithHeaders(%q) = %v, want %v", obj, m, want)
		}
	}
	if got := WithHeaders(`{"a":"b"}`, nil); got != `{"a":"b"}` {
		t.Errorf("WithHeaders with nothing to add = %q", got)
	}
}
