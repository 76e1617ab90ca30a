package adapters_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters"
)

func TestEachCommittedChangeYieldsExactlyOneEventWhenTheProcessDiesBetweenCommitAndRelay(t *testing.T) {
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
	fwd := adapters.NewForwarder(e.db, s.JS, slog.Default())
	if n, err := fwd.RelayOnce(e.ctx); err != nil || n != 6 {
		t.Fatalf("relayed %d, %v; want 6", n, err)
	}
	if n, err := fwd.RelayOnce(e.ctx); err != nil || n != 0 {
		t.Fatalf("second relay: %d, %v", n, err)
	}
	st, err := s.JS.Stream(e.ctx, events.StreamMercatoEvents)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 6 {
		t.Errorf("%d events on %s, want 6 (5 created, 1 deleted)", info.State.Msgs, events.StreamMercatoEvents)
	}
	if n := e.count(`SELECT count(*) FROM orosync_outbox`); n != 0 {
		t.Errorf("%d outbox rows left", n)
	}
}
