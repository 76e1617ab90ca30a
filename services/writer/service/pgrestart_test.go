package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/ports"
	"github.com/orosync/orosync/services/writer/service"
)

// signal is a slog handler that sends on a channel each time a given message is logged (and drops the rest).
type signal struct {
	msg string
	ch  chan struct{}
}

func (s signal) Enabled(context.Context, slog.Level) bool { return true }
func (s signal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == s.msg {
		select {
		case s.ch <- struct{}{}:
		default:
		}
	}
	return nil
}
func (s signal) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s signal) WithGroup(string) slog.Handler      { return s }

// TestPostgresRestartedMidRunLosesNothing runs the writer against a private PostgreSQL server, crashes
// the server (pg_ctl stop -m immediate) while the writer is committing batches, publishes more changes while it
// is down, keeps it down until the writer has retried a batch five times (longer than the five failed deliveries
// after which a change that fails on its own is dead-lettered), and starts the server again: the writer carries on
// with the batch it holds, and in the end every change is applied exactly once, acknowledged, and nothing went to
// the dead-letter stream.
func TestPostgresRestartedMidRunLosesNothing(t *testing.T) {
	const before, during = 3000, 500
	cluster := dbtest.StartCluster(t)
	dbURL := cluster.NewDatabase(t)
	s := jstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	publish := func(from, n int) {
		t.Helper()
		var futures []jetstream.PubAckFuture
		for i := from; i < from+n; i++ {
			id := fmt.Sprint(i + 1)
			c := person(id, 10, "First"+id, "Last", id+"@example.com")
			body, _ := json.Marshal(c)
			subj, _ := c.Subject()
			msg := nats.NewMsg(subj)
			msg.Data = body
			events.Envelope{ID: c.MsgID(), Source: "/test", Type: events.TypeChange, Time: time.Now()}.Apply(msg.Header)
			f, err := s.JS.PublishMsgAsync(msg)
			if err != nil {
				t.Fatal(err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				t.Fatal(err)
			}
		}
	}
	publish(0, before)

	committed := make(chan app.Result, 1000)
	down := signal{msg: ports.DatabaseUnavailable, ch: make(chan struct{}, 100)}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- service.Run(runCtx, service.Config{NatsURL: s.URL, DatabaseURL: dbURL, Tenants: map[string]service.Scope{"acme": scope},
			BatchSize: 200, Logger: slog.New(down),
			Committed: func(r app.Result) {
				select {
				case committed <- r:
				default:
				}
			}})
	}()
	defer func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("writer: %v", err)
		}
	}()

	select {
	case <-committed:
	case <-ctx.Done():
		t.Fatal("no batch committed")
	}
	cluster.Crash(t)
	publish(before, during) // work for the writer while the database is down
	for retries := 0; retries < 5; retries++ {
		select {
		case <-down.ch:
		case <-ctx.Done():
			t.Fatalf("the writer retried %d times while the database was down, want 5", retries)
		}
	}
	cluster.Start(t)

	db, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	awaitWriterDrained(ctx, t, s.JS, db, committed)

	const total = before + during
	for q, want := range map[string]int{
		`SELECT count(*) FROM customer_entities`:                            total,
		`SELECT count(*) FROM customer_people`:                              total,
		`SELECT count(*) FROM sync_external_id_mappings`:                    total,
		`SELECT count(DISTINCT external_id) FROM sync_external_id_mappings`: total,
		`SELECT count(*) FROM orosync_records`:                              total,
	} {
		var n int
		if err := db.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
	counts, dup := eventCounts(ctx, t, s.JS)
	if counts["customers.person.created"] != total || dup != "" {
		t.Errorf("events %v (duplicate: %q), want %d created", counts, dup, total)
	}
	dlq, err := s.JS.Stream(ctx, events.StreamDeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	info, err := dlq.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Errorf("%d dead letters, want none", info.State.Msgs)
	}
}
