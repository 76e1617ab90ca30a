package service_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/service"
)

// The test binary doubles as a writer process: with OROSYNC_WRITER_CHILD set it runs the writer and prints one
// line per committed batch, until it is killed.
const childEnv = "OROSYNC_WRITER_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

func runChild() int {
	out := bufio.NewWriter(os.Stdout)
	commits := make(chan app.Result, 1000)
	go func() {
		for range commits {
			fmt.Fprintln(out, "committed")
			_ = out.Flush()
		}
	}()
	err := service.Run(context.Background(), service.Config{NatsURL: os.Getenv("CHILD_NATS_URL"), DatabaseURL: os.Getenv("CHILD_DB_URL"),
		Tenants: map[string]service.Scope{"acme": scope}, BatchSize: 100, Committed: func(r app.Result) { commits <- r }})
	fmt.Fprintln(os.Stderr, "writer:", err)
	return 1
}

type child struct {
	cmd     *exec.Cmd
	commits chan struct{} // one per committed batch; closed when the process ends
}

func startChild(t *testing.T, natsURL, dbURL string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "CHILD_NATS_URL="+natsURL, "CHILD_DB_URL="+dbURL)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, commits: make(chan struct{}, 10000)}
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			c.commits <- struct{}{}
		}
		close(c.commits)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return c
}

// awaitCommits blocks until the child reported n more committed batches.
func (c *child) awaitCommits(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case _, ok := <-c.commits:
			if !ok {
				t.Fatal("writer process ended before committing")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("writer process committed nothing for 30s")
		}
	}
}

func (c *child) kill9(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for range c.commits { // drain until the pipe closes
	}
	_ = c.cmd.Wait()
}

func TestWriterKilledMidBatchOrCutOffFromTheDatabaseNeitherLosesNorDuplicates(t *testing.T) {
	const contacts = 3000
	s := jstest.Start(t)
	dbURL := dbtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A killed process leaves its fetched batch unacknowledged; a short ack wait gets it redelivered quickly.
	cons, err := s.JS.Consumer(ctx, events.StreamMercatoChanges, "writer")
	if err != nil {
		t.Fatal(err)
	}
	cfg := cons.CachedInfo().Config
	cfg.AckWait = time.Second
	if _, err := s.JS.UpdateConsumer(ctx, events.StreamMercatoChanges, cfg); err != nil {
		t.Fatal(err)
	}
	db, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	updates := 0
	var futures []jetstream.PubAckFuture
	publish := func(c events.Change) {
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
	for i := range contacts {
		id := fmt.Sprint(i + 1)
		publish(person(id, 10, "First"+id, "Last", id+"@example.com"))
		if i%4 == 0 {
			publish(person(id, 20, "First"+id, "Changed", id+"@example.com"))
			updates++
		}
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatal(err)
		}
	}

	for round := range 10 {
		c := startChild(t, s.URL, dbURL)
		c.awaitCommits(t, 1)
		if round%3 == 1 {
			// PostgreSQL drops every connection (as on a restart): the writer reconnects and carries on.
			if _, err := db.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
				t.Fatal(err)
			}
			c.awaitCommits(t, 1)
		}
		c.kill9(t)
	}

	// A last process drains what is left.
	final := startChild(t, s.URL, dbURL)
	awaitWriterDrained(ctx, t, s.JS, db, final.commits)
	final.kill9(t)

	counts := map[string]int{}
	for name, q := range map[string]string{
		"people":                  `SELECT count(*) FROM customer_entities`,
		"profiles":                `SELECT count(*) FROM customer_people`,
		"external ids":            `SELECT count(DISTINCT external_id) FROM sync_external_id_mappings`,
		"mapping rows":            `SELECT count(*) FROM sync_external_id_mappings`,
		"records":                 `SELECT count(*) FROM orosync_records`,
		"people with new version": `SELECT count(*) FROM customer_people WHERE last_name = 'Changed'`,
	} {
		var n int
		if err := db.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		counts[name] = n
	}
	for name, want := range map[string]int{"people": contacts, "profiles": contacts, "external ids": contacts, "mapping rows": contacts,
		"records": contacts, "people with new version": updates} {
		if counts[name] != want {
			t.Errorf("%s: %d, want %d", name, counts[name], want)
		}
	}
	// One created event per person; one updated event per person whose second version was committed after its
	// first (a first version redelivered after the second one is a no-op, so that person was created with the
	// second version's values and has no update); never two events of a kind for one person.
	events, dup := eventCounts(ctx, t, s.JS)
	if events["customers.person.created"] != contacts || events["customers.person.updated"] > updates || events["customers.person.updated"] < updates/2 || dup != "" {
		t.Errorf("events %v (duplicate: %q), want %d created and at most %d updated", events, dup, contacts, updates)
	}
}

// eventCounts counts MERCATO_EVENTS messages per event type, and names a subject (type and entity) holding more
// than one.
func eventCounts(ctx context.Context, t *testing.T, js jetstream.JetStream) (map[string]int, string) {
	t.Helper()
	st, err := js.Stream(ctx, events.StreamMercatoEvents)
	if err != nil {
		t.Fatal(err)
	}
	out, dup := map[string]int{}, ""
	for _, typ := range []string{"customers.person.created", "customers.person.updated", "customers.person.deleted"} {
		info, err := st.Info(ctx, jetstream.WithSubjectFilter("mercato.events.acme."+typ+".>"))
		if err != nil {
			t.Fatal(err)
		}
		for subject, n := range info.State.Subjects {
			out[typ] += int(n)
			if n > 1 {
				dup = subject
			}
		}
	}
	return out, dup
}
