package adapters_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/relay"
)

func TestEachCommittedChangeYieldsExactlyOneEventWhenTheProcessDiesBeforeTheRelay(t *testing.T) {
	e := newEnv(t, scope)
	s := jstest.Start(t)
	for i := range 5 {
		id := fmt.Sprint(i + 1)
		e.apply(nil, contact{id: id, first: "F" + id, last: "L", email: id + "@example.com", sec: 10}.change())
	}
	e.apply(nil, tombstone(contact{id: "1", first: "F1", last: "L", email: "1@example.com", sec: 10}.change()))
	// The process died after committing: six events wait in the outbox. Worse, a relay published four of them
	// and died before deleting its rows.
	rows, err := e.db.Query(e.ctx, `SELECT subject, msg_id, headers::text, payload::text FROM orosync_outbox ORDER BY id LIMIT 4`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var subject, msgID, headers, payload string
		if err := rows.Scan(&subject, &msgID, &headers, &payload); err != nil {
			t.Fatal(err)
		}
		msg := nats.NewMsg(subject)
		msg.Data = []byte(payload)
		h := map[string]string{}
		_ = json.Unmarshal([]byte(headers), &h)
		for k, v := range h {
			msg.Header.Set(k, v)
		}
		msg.Header.Set(nats.MsgIdHdr, msgID)
		if _, err := s.JS.PublishMsg(e.ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	rows.Close()
	// The next process relays everything it finds.
	fwd := relay.New(e.db, s.JS, slog.Default())
	if n, err := fwd.RelayOnce(e.ctx); err != nil || n != 6 {
		t.Fatalf("relayed %d, %v; want 6", n, err)
	}
	if n, err := fwd.RelayOnce(e.ctx); err != nil || n != 0 {
		t.Fatalf("second relay: %d, %v", n, err)
	}
	if _, n := eventsStream(t, e, s); n != 6 {
		t.Errorf("%d events on %s, want 6 (5 created, 1 deleted)", n, events.StreamMercatoEvents)
	}
	if n := e.count(`SELECT (SELECT count(*) FROM orosync_outbox) + (SELECT count(*) FROM orosync_outbox_batches)`); n != 0 {
		t.Errorf("%d outbox rows left", n)
	}
}

// TestEventsOfALargeBatch: a batch of 150 contacts stores its
// events as one orosync_outbox_batches row between smaller transactions' single rows; a relay that published part
// of the batch row and died before deleting it is followed by one that relays everything: every event exactly
// once, and a record's events in the order they were committed.
func TestEventsOfALargeBatch(t *testing.T) {
	e := newEnv(t, scope)
	s := jstest.Start(t)
	c := func(i int) events.Change {
		id := fmt.Sprint(i)
		return contact{id: id, first: "F" + id, last: "L", email: id + "@example.com", sec: 10}.change()
	}
	for i := range 3 {
		e.apply(nil, c(i))
	}
	var large []events.Change
	for i := 3; i < 153; i++ {
		large = append(large, c(i))
	}
	e.apply(nil, large...)
	e.apply(nil, tombstone(c(0)), tombstone(c(100)))
	t.Run("are one outbox row", func(t *testing.T) {
		if singles, batches := e.count(`SELECT count(*) FROM orosync_outbox`), e.count(`SELECT count(*) FROM orosync_outbox_batches`); singles != 5 || batches != 1 {
			t.Fatalf("%d outbox rows and %d batch rows, want 5 and 1", singles, batches)
		}
	})
	t.Run("are relayed exactly once after a relay died midway", func(t *testing.T) {
		// A relay published the first 40 events of the batch row, then died.
		var raw []byte
		if err := e.db.QueryRow(e.ctx, `SELECT events::text FROM orosync_outbox_batches`).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var evts []struct {
			Subject string            `json:"s"`
			MsgID   string            `json:"m"`
			Payload json.RawMessage   `json:"p"`
			Headers map[string]string `json:"h"`
		}
		if err := json.Unmarshal(raw, &evts); err != nil || len(evts) != 150 {
			t.Fatalf("batch row: %d events, %v", len(evts), err)
		}
		for _, ev := range evts[:40] {
			msg := nats.NewMsg(ev.Subject)
			msg.Data = ev.Payload
			msg.Header.Set(nats.MsgIdHdr, ev.MsgID)
			if _, err := s.JS.PublishMsg(e.ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
		fwd := relay.New(e.db, s.JS, slog.Default())
		if total := relayAll(t, e.ctx, fwd); total != 155 {
			t.Errorf("relayed %d events, want 155", total)
		}
		if _, n := eventsStream(t, e, s); n != 155 {
			t.Errorf("%d events on %s, want 155 (153 created, 2 deleted)", n, events.StreamMercatoEvents)
		}
	})
	t.Run("go out in commit order", func(t *testing.T) {
		st, _ := eventsStream(t, e, s)
		// Contact 100's created event (in the batch row) precedes its deleted event (a later single row).
		for _, id := range []string{"0", "100"} {
			entity := e.person(id).entityID.String()
			var seqs []uint64
			for _, action := range []string{"created", "deleted"} {
				m, err := st.GetLastMsgForSubject(e.ctx, "mercato.events.acme.customers.person."+action+"."+entity)
				if err != nil {
					t.Fatalf("contact %s %s: %v", id, action, err)
				}
				seqs = append(seqs, m.Sequence)
			}
			if seqs[0] > seqs[1] {
				t.Errorf("contact %s: created at %d after deleted at %d", id, seqs[0], seqs[1])
			}
		}
		if n := e.count(`SELECT (SELECT count(*) FROM orosync_outbox) + (SELECT count(*) FROM orosync_outbox_batches)`); n != 0 {
			t.Errorf("%d outbox rows left", n)
		}
	})
}
