package service_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/service"
)

// PostgreSQL refuses the writer's writes with each SQLSTATE below, raised by the server itself (a trigger, as a
// read-only standby, a full disk or a revoked grant raise it); the writer must wait, not dead-letter.
var refusals = map[string]string{
	"25006": "read-only after a failover",
	"53100": "disk full",
	"53200": "out of memory",
	"57014": "statement timeout",
	"42501": "permission denied",
}

func TestPostgresRefusingWrites(t *testing.T) {
	for code, what := range refusals {
		t.Run(what, func(t *testing.T) {
			metrics, err := service.NewMetrics(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			h := startWith(t, func(c *service.Config) { c.Metrics = metrics })
			h.refuseWhere("true", code)
			const contacts = 10
			changes := make([]events.Change, contacts)
			for i := range changes {
				id := strconv.Itoa(i + 1)
				changes[i] = person(id, i, "F"+id, "L", id+"@example.com")
			}
			h.publish(changes...)
			t.Run("pauses the writer, dead-lettering nothing", func(t *testing.T) {
				h.await("the writer to pause", func() bool {
					ready, why := metrics.Ready()
					return !ready && strings.Contains(why, code)
				})
				if n := h.deadLetters(); n != 0 {
					t.Errorf("%d changes dead-lettered while PostgreSQL refused writes", n)
				}
			})
			t.Run("every change lands once writes work again", func(t *testing.T) {
				if _, err := h.db.Exec(h.ctx, `DROP TRIGGER test_refuse ON orosync_records`); err != nil {
					t.Fatal(err)
				}
				h.await("every change to land", func() bool {
					return h.count(`SELECT count(*) FROM orosync_records`) == contacts
				})
				h.await("the writer to be ready again", func() bool { ready, _ := metrics.Ready(); return ready })
				if n := h.deadLetters(); n != 0 {
					t.Errorf("%d dead letters after the refusal", n)
				}
			})
		})
	}
}

func TestAReadOnlyDatabasePausesTheWriterUntilItTakesWritesAgain(t *testing.T) {
	metrics, err := service.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	h := startWith(t, func(c *service.Config) { c.Metrics = metrics })
	h.readOnly(true) // as a standby promoted the wrong way round: every new session is read-only
	changes := make([]events.Change, 10)
	for i := range changes {
		id := strconv.Itoa(i + 1)
		changes[i] = person(id, i, "F"+id, "L", id+"@example.com")
	}
	h.publish(changes...)
	h.await("the writer to pause", func() bool { ready, why := metrics.Ready(); return !ready && strings.Contains(why, "25006") })
	h.readOnly(false)
	h.await("every change to land", func() bool { return h.count(`SELECT count(*) FROM orosync_records`) == len(changes) })
	if n := h.deadLetters(); n != 0 {
		t.Errorf("%d dead letters", n)
	}
}

// readOnly makes the database's new sessions read-only (or writable again) and ends the writer's sessions.
func (h *harness) readOnly(on bool) {
	h.t.Helper()
	conn, err := h.db.Acquire(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	defer conn.Release()
	stmt := `SET default_transaction_read_only = off; ALTER DATABASE %s RESET default_transaction_read_only`
	if on {
		stmt = `ALTER DATABASE %s SET default_transaction_read_only = on`
	}
	var db string
	if err := conn.QueryRow(h.ctx, `SELECT current_database()`).Scan(&db); err != nil {
		h.t.Fatal(err)
	}
	if _, err := conn.Exec(h.ctx, fmt.Sprintf(stmt, `"`+db+`"`)); err != nil {
		h.t.Fatal(err)
	}
	if _, err := conn.Exec(h.ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		h.t.Fatal(err)
	}
}

// await polls a condition on state the writer keeps (its readiness, rows in PostgreSQL).
func (h *harness) await(what string, cond func() bool) {
	h.t.Helper()
	for !cond() {
		select {
		case <-h.ctx.Done():
			h.t.Fatalf("waiting for %s: %v", what, h.ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// deadLetters counts the writer's dead letters.
func (h *harness) deadLetters() uint64 {
	h.t.Helper()
	st, err := h.js.Stream(h.ctx, events.StreamDeadLetter)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := st.Info(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return info.State.Msgs
}
