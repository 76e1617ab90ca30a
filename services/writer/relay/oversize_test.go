package relay_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/services/writer/relay"
)

func TestAnEventTooBigForMercatoEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := jstest.Start(t)
	big := `{"id":"e1","note":"` + strings.Repeat("n", 100_000) + `"}` // MERCATO_EVENTS takes 64 KiB
	for i, payload := range []string{big, `{"id":"e2"}`} {
		id := []string{"e1", "e2"}[i]
		if _, err := pool.Exec(ctx, `INSERT INTO orosync_outbox (subject, msg_id, event_type, payload) VALUES ($1, $2, $3, $4)`,
			"mercato.events.acme.customers.person.created."+id, "evt-"+id, "customers.person.created", payload); err != nil {
			t.Fatal(err)
		}
	}
	fwd := relay.New(pool, s.JS, slog.New(slog.NewTextHandler(io.Discard, nil)))
	fwd.Limit, fwd.DeadLetterLimit = 64<<10, 8<<20
	if n, err := fwd.RelayOnce(ctx); err != nil || n != 2 {
		t.Fatalf("relayed %d, %v; want both rows", n, err)
	}
	dlq, err := s.JS.OrderedConsumer(ctx, events.StreamDeadLetter, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("is dead-lettered with what it was", func(t *testing.T) {
		m, err := dlq.Next(jetstream.FetchContext(ctx))
		if err != nil {
			t.Fatalf("no dead letter: %v", err)
		}
		var d events.DeadLetter
		if err := json.Unmarshal(m.Data(), &d); err != nil {
			t.Fatal(err)
		}
		body, _ := d.OriginalPayload() // as the relay sent it, for a redrive
		if d.Stage != "writer" || d.Rule != events.RuleMaxSize || d.Stream != events.StreamMercatoEvents || d.Limit != 64<<10 ||
			d.Size <= 100_000 || d.Subject != "mercato.events.acme.customers.person.created.e1" || d.MsgID != "evt-e1" ||
			len(body) < 100_000 || d.Headers[events.HeaderType] != "customers.person.created" {
			t.Errorf("dead letter: stage %s rule %s stream %s limit %d size %d subject %s msg id %s payload %d bytes headers %v",
				d.Stage, d.Rule, d.Stream, d.Limit, d.Size, d.Subject, d.MsgID, len(body), d.Headers)
		}
	})
	t.Run("the outbox moves on to the next event", func(t *testing.T) {
		st, err := s.JS.Stream(ctx, events.StreamMercatoEvents)
		if err != nil {
			t.Fatal(err)
		}
		if info, err := st.Info(ctx); err != nil || info.State.Msgs != 1 {
			t.Errorf("MERCATO_EVENTS holds %v events (%v), want e2 only", info.State.Msgs, err)
		}
		var left int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM orosync_outbox`).Scan(&left); err != nil || left != 0 {
			t.Errorf("%d outbox rows left (%v)", left, err)
		}
	})
	t.Run("refused by the server is dead-lettered too", func(t *testing.T) {
		if _, err := pool.Exec(ctx, `INSERT INTO orosync_outbox (subject, msg_id, event_type, payload) VALUES ($1, $2, $3, $4)`,
			"mercato.events.acme.customers.person.created.e3", "evt-e3", "customers.person.created", big); err != nil {
			t.Fatal(err)
		}
		fwd.Limit = 0 // not checked before publishing: the stream's refusal is what the relay sees
		if n, err := fwd.RelayOnce(ctx); err != nil || n != 1 {
			t.Fatalf("relayed %d, %v; want the row", n, err)
		}
		m, err := dlq.Next(jetstream.FetchContext(ctx))
		if err != nil {
			t.Fatalf("no dead letter: %v", err)
		}
		var d events.DeadLetter
		if err := json.Unmarshal(m.Data(), &d); err != nil || d.Rule != events.RuleMaxSize || d.MsgID != "evt-e3" {
			t.Errorf("dead letter rule %s of %s (%v)", d.Rule, d.MsgID, err)
		}
	})
}
