package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestAContactTooBigToStore(t *testing.T) {
	e := newE2E(t)
	if err := e.sim.UpdateContact("17", map[string]any{"jobTitle": strings.Repeat("x", 1_500_000)}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	persons := e.persons()
	t.Run("alone stays out of Mercato", func(t *testing.T) {
		if _, ok := persons["17"]; ok || len(persons) != e2eContacts-1 {
			t.Fatalf("%d persons, contact 17 among them: %v; want every contact but 17", len(persons), ok)
		}
	})
	t.Run("is shown by status", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(e.ctx, []string{"status", "--nats-url", e.p.NatsURL, "--database-url", e.p.DatabaseURL, "--tenant", "acme"}, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		for _, want := range []string{"acme/contacts: last dead letter", "max-size): contacts 17: ", "attributes.jobTitle"} {
			if !strings.Contains(s, want) {
				t.Errorf("status does not say %q:\n%s", want, s)
			}
		}
	})
}
