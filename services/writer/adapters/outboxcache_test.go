package adapters_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/relay"
)

func contactBatch(from, n int) []events.Change {
	var out []events.Change
	for i := from; i < from+n; i++ {
		id := fmt.Sprint(i)
		out = append(out, contact{id: id, first: "F" + id, last: "L", email: id + "@example.com", sec: 10}.change())
	}
	return out
}

// relayedMessages are the messages a relay from the table would publish for the batch rows there now.
func relayedMessages(t *testing.T, e *env) []*nats.Msg {
	t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT events::text FROM orosync_outbox_batches ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*nats.Msg
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var evts []struct {
			Subject string            `json:"s"`
			MsgID   string            `json:"m"`
			Type    string            `json:"t"`
			Headers map[string]string `json:"h"`
			Payload json.RawMessage   `json:"p"`
		}
		if err := json.Unmarshal(raw, &evts); err != nil {
			t.Fatal(err)
		}
		for _, ev := range evts {
			m := &nats.Msg{Subject: ev.Subject, Data: ev.Payload, Header: nats.Header{}}
			for k, v := range ev.Headers {
				m.Header.Set(k, v)
			}
			m.Header.Set(nats.MsgIdHdr, ev.MsgID)
			m.Header.Set(events.HeaderID, ev.MsgID)
			m.Header.Set(events.HeaderType, ev.Type)
			m.Header.Set(events.HeaderSpecVersion, events.SpecVersion)
			m.Header.Set(events.HeaderDataContentType, "application/json")
			out = append(out, m)
		}
	}
	return out
}

// relayAll relays until nothing is left and returns how many events it relayed.
func relayAll(tb testing.TB, ctx context.Context, fwd *relay.Forwarder) int {
	tb.Helper()
	total := 0
	for {
		n, err := fwd.RelayOnce(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

// memoryRelay is an env whose store and relay share an OutboxCache, with a JetStream server to relay to.
func memoryRelay(t *testing.T) (*env, *jstest.Server, *relay.Cache, *relay.Forwarder) {
	t.Helper()
	e := newEnv(t, scope)
	s := jstest.Start(t)
	recent := relay.NewCache(4)
	e.store.Recent = recent
	fwd := relay.New(e.db, s.JS, slog.Default())
	fwd.Recent = recent
	return e, s, recent, fwd
}

// eventsStream is MERCATO_EVENTS and how many messages it holds.
func eventsStream(t *testing.T, e *env, s *jstest.Server) (jetstream.Stream, uint64) {
	t.Helper()
	st, err := s.JS.Stream(e.ctx, events.StreamMercatoEvents)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st, info.State.Msgs
}

func assertEventsPublished(t *testing.T, e *env, s *jstest.Server, want []*nats.Msg) {
	t.Helper()
	st, n := eventsStream(t, e, s)
	if int(n) != len(want) {
		t.Fatalf("%d events published, want %d", n, len(want))
	}
	for i, w := range want {
		got, err := st.GetMsg(e.ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"Nats-Sequence", "Nats-Stream", "Nats-Subject", "Nats-Time-Stamp"} { // the server's
			delete(got.Header, k)
		}
		if got.Subject != w.Subject || string(got.Data) != string(w.Data) || !reflect.DeepEqual(got.Header, w.Header) {
			t.Fatalf("event %d: %s %s %v\nwant %s %s %v", i+1, got.Subject, got.Data, got.Header, w.Subject, w.Data, w.Header)
		}
	}
}

// TestABatchRelayedFromMemoryPublishesExactlyWhatItsRowHolds: the relay publishes the batch rows its process just
// wrote from memory, message for message what a relay reading the table publishes.
func TestABatchRelayedFromMemoryPublishesExactlyWhatItsRowHolds(t *testing.T) {
	e, s, recent, fwd := memoryRelay(t)
	e.apply(nil, contactBatch(0, 150)...)
	e.apply(nil, contactBatch(150, 120)...)
	want := relayedMessages(t, e)
	if len(want) != 270 || recent.Len() != 2 {
		t.Fatalf("%d events in batch rows and %d batches held, want 270 and 2", len(want), recent.Len())
	}
	if n := relayAll(t, e.ctx, fwd); n != 270 {
		t.Fatalf("relayed %d events, want 270", n)
	}
	if recent.Len() != 0 {
		t.Errorf("%d batches still held: not relayed from memory", recent.Len())
	}
	assertEventsPublished(t, e, s, want)
}

// TestABatchRowNoLongerInTheTableIsNotRelayedFromMemory: a batch held in memory whose row is gone (relayed by
// another process, or never committed) is not published; the rows there are, once each.
func TestABatchRowNoLongerInTheTableIsNotRelayedFromMemory(t *testing.T) {
	e, s, _, fwd := memoryRelay(t)
	e.apply(nil, contactBatch(0, 150)...)
	if _, err := e.db.Exec(e.ctx, `DELETE FROM orosync_outbox_batches`); err != nil {
		t.Fatal(err)
	}
	e.apply(nil, contactBatch(150, 110)...)
	want := relayedMessages(t, e)
	if n := relayAll(t, e.ctx, fwd); n != 110 {
		t.Fatalf("relayed %d events, want the 110 of the row left", n)
	}
	assertEventsPublished(t, e, s, want)
}

// TestBatchesThisProcessDidNotWriteAreRelayedFromTheTable: a relay holding nothing (another process wrote the rows,
// or it restarted) publishes the same messages.
func TestBatchesThisProcessDidNotWriteAreRelayedFromTheTable(t *testing.T) {
	e := newEnv(t, scope)
	s := jstest.Start(t)
	e.apply(nil, contactBatch(0, 130)...)
	want := relayedMessages(t, e)
	fwd := relay.New(e.db, s.JS, slog.Default())
	fwd.Recent = relay.NewCache(4)
	if n := relayAll(t, e.ctx, fwd); n != 130 {
		t.Fatalf("relayed %d events, want 130", n)
	}
	assertEventsPublished(t, e, s, want)
}

// BenchmarkRelayOfAContactBatch relays the 2,000 events of a 1,000-contact batch (person and company link each)
// to an embedded JetStream server, read back from the table or published from memory; time, CPU and allocations
// are the relay's and the server's (same process), whose share does not depend on where the events come from.
func BenchmarkRelayOfAContactBatch(b *testing.B) {
	for _, fromMemory := range []bool{false, true} {
		name := "from-table"
		if fromMemory {
			name = "from-memory"
		}
		b.Run(name, func(b *testing.B) {
			store, pool := benchStore(b) // with the accounts, whose events go first
			s := jstest.Start(b)
			ctx := context.Background()
			fwd := relay.New(pool, s.JS, slog.Default())
			if fromMemory {
				store.Recent = relay.NewCache(4)
				fwd.Recent = store.Recent
			}
			if _, err := fwd.RelayOnce(ctx); err != nil {
				b.Fatal(err)
			}
			relayed, cpu := 0, time.Duration(0)
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				if _, err := (app.ApplyChanges{Store: store}).Handle(ctx, benchChanges(i*benchBatch, benchBatch, 10, "", "m1")); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				before := processCPU()
				relayed += relayAll(b, ctx, fwd)
				cpu += processCPU() - before
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(relayed), "ns/event")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(relayed), "cpu-ns/event")
		})
	}
}
