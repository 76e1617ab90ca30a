package app

import (
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/services/transformer/domain"
)

func TestAReplayPreviewCountsWhatItWouldPublishPerType(t *testing.T) {
	m, base := spelledOutCTO(t), domain.Default()
	p := PreviewReplay{Transform: Transform{Now: func() time.Time { return at }, Mapping: m}.WithBase(base)}
	cfo := strings.Replace(contact, `"jobTitle":"CTO"`, `"jobTitle":"CFO"`, 1)
	for _, in := range []Incoming{
		rawMessage(t, "contacts", "42", contact),
		rawMessage(t, "contacts", "43", strings.Replace(contact, `"id":"42"`, `"id":"43"`, 1)),
		rawMessage(t, "contacts", "44", strings.Replace(cfo, `"id":"42"`, `"id":"44"`, 1)),
		rawMessage(t, "contacts", "1", `{"type":"contacts","id":"1","attributes":{"firstName":{"a":1}}}`),
		rawMessage(t, "accounts", "7", `{"type":"accounts","id":"7","attributes":{"name":"Acme"}}`),
		rawMessage(t, "asyncoperations", "1", `{"type":"asyncoperations","id":"1","attributes":{}}`),
	} {
		if err := p.Add(in); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]PreviewCounts{
		"contacts":        {Messages: 4, Changes: 2, Unchanged: 1, DeadLetters: 1, Examples: []string{"42", "43"}},
		"accounts":        {Messages: 1, Unchanged: 1},
		"asyncoperations": {Messages: 1, Unchanged: 1},
	}
	if len(p.Counts) != len(want) {
		t.Fatalf("counted types %v; want %v", p.Counts, want)
	}
	for typ, w := range want {
		got := p.Counts[typ]
		if got == nil || got.Messages != w.Messages || got.Changes != w.Changes || got.Unchanged != w.Unchanged ||
			got.DeadLetters != w.DeadLetters || strings.Join(got.Examples, ",") != strings.Join(w.Examples, ",") {
			t.Errorf("%s: %+v; want %+v", typ, got, w)
		}
	}
}
