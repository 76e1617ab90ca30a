package service_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/orosim"
)

// deadLetters reads every dead letter of the poller for acme's contacts.
func (f fixture) deadLetters(t *testing.T) []events.DeadLetter {
	t.Helper()
	ctx := context.Background()
	cons, err := f.js.OrderedConsumer(ctx, events.StreamDeadLetter, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"orosync.dlq.poller.acme.contacts.*"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.js.Stream(ctx, events.StreamDeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("orosync.dlq.poller.acme.contacts.*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []events.DeadLetter
	for uint64(len(out)) < info.State.Msgs {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var d events.DeadLetter
		if err := json.Unmarshal(m.Data(), &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// heldBack returns which contacts of the simulator ORO_RAW lacks.
func (f fixture) heldBack(t *testing.T) []string {
	t.Helper()
	versions := f.latestVersions(t)
	var missing []string
	for _, id := range f.sim.ContactIDs() {
		if _, ok := versions[id]; !ok {
			missing = append(missing, id)
		}
	}
	return missing
}

func TestARecordTooBigForOroRaw(t *testing.T) {
	f := setup(t, 60)
	huge := strings.Repeat("x", 1_500_000) // over the test server's max_payload of 1 MiB
	if err := f.sim.UpdateContact("17", map[string]any{"jobTitle": huge}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(5 * time.Second)
	f.pollOnce(t, 20, nil)
	t.Run("alone is held back", func(t *testing.T) {
		if missing := f.heldBack(t); len(missing) != 1 || missing[0] != "17" {
			t.Fatalf("ORO_RAW lacks contacts %v, want only 17", missing)
		}
	})
	t.Run("is dead-lettered with its id, size, the limit", func(t *testing.T) {
		dl := f.deadLetters(t)
		if len(dl) != 1 {
			t.Fatalf("%d dead letters, want 1", len(dl))
		}
		d := dl[0]
		if d.Record == nil || d.Record.ID != "17" || d.Rule != events.RuleMaxSize || d.Size <= 1_500_000 || d.Limit != 1<<20 ||
			!strings.Contains(d.Reason, "attributes.jobTitle") || d.Payload != nil {
			t.Errorf("dead letter %+v: want contact 17, its size over the 1 MiB limit, the large value named, no payload", d)
		}
	})

	t.Run("later edits of the type still flow", func(t *testing.T) {
		if err := f.sim.UpdateContact("42", map[string]any{"jobTitle": "After the big one"}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(5 * time.Second)
		f.pollOnce(t, 20, nil)
		f.assertVersionOf(t, "42")
	})
}

func TestARecordNestedTooDeep(t *testing.T) {
	f := setup(t, 60)
	f.sim.SetFaults(orosim.Faults{DeepRecords: []string{"contacts/23"}})
	f.pollOnce(t, 20, nil)
	t.Run("alone is held back", func(t *testing.T) {
		if missing := f.heldBack(t); len(missing) != 1 || missing[0] != "23" {
			t.Fatalf("ORO_RAW lacks contacts %v, want only 23", missing)
		}
	})
	t.Run("is dead-lettered with its id", func(t *testing.T) {
		dl := f.deadLetters(t)
		if len(dl) != 1 || dl[0].Record == nil || dl[0].Record.ID != "23" || dl[0].Rule != "max-depth" {
			t.Fatalf("dead letters %+v, want one for contact 23 (max-depth)", dl)
		}
	})

	t.Run("the cursor moved past it", func(t *testing.T) {
		if err := f.sim.UpdateContact("42", map[string]any{"jobTitle": "After the deep one"}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(5 * time.Second)
		f.pollOnce(t, 20, nil)
		f.assertVersionOf(t, "42")
		if again := f.deadLetters(t); len(again) != 1 {
			t.Errorf("%d dead letters after another round, want still 1 (the record is not read again)", len(again))
		}
	})
}

// assertVersionOf checks that ORO_RAW holds contact id at its current version in the simulator.
func (f fixture) assertVersionOf(t *testing.T, id string) {
	t.Helper()
	want, got := f.oroVersions(t)[id], f.latestVersions(t)[id]
	if !got.Equal(want) {
		t.Fatalf("contact %s: ORO_RAW has version %v, Oro %v", id, got, want)
	}
}
