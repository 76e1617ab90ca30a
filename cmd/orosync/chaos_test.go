//go:build chaos

package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
)

// make chaos: every service in a process of its own, one of them killed with SIGKILL every few seconds and
// restarted, while Oro edits, creates and deletes contacts; then Mercato must equal Oro record by record.
var (
	chaosContacts = flag.Int("chaos.contacts", 100_000, "contacts the simulator starts with")
	chaosRounds   = flag.Int("chaos.rounds", 20, "kills: each round kills one service chosen at random and restarts it")
	chaosEvery    = flag.Duration("chaos.every", 4*time.Second, "mean time between kills (uniform in [every/2, 3·every/2])")
	chaosEdits    = flag.Int("chaos.edits-per-second", 20, "Oro writes a second while the services are killed: 85 % edits, 10 % deletes, 5 % creates")
	chaosSettle   = flag.Duration("chaos.settle", 20*time.Minute, "how long Mercato may take to equal Oro after the last kill")
	chaosSeed     = flag.Uint64("chaos.seed", 0, "seed of the kills and Oro's writes (0: a new one, logged)")
)

const (
	chaosTenant = "chaos"
	chaosSecret = "chaos-s3cret"
)

func TestServicesKilledAtRandomDuringASyncLeaveMercatoEqualToOro(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	began := time.Now()
	t.Setenv("OROSIM_CLIENT_SECRET", chaosSecret)
	t.Setenv("OROSYNC_ORO_CLIENT_SECRET", chaosSecret)
	natsURL := startNATSServerProcess(t)
	dbURL := dbtest.NewDatabase(t)
	simURL := startSimProcess(ctx, t, *chaosContacts)
	t.Logf("simulator with %d contacts at %s, nats-server at %s (%s)", *chaosContacts, simURL, natsURL, time.Since(began).Round(time.Second))

	fleet := newFleet(t, natsURL, dbURL, simURL)
	for _, svc := range allServices {
		fleet.start(svc)
	}
	seed := *chaosSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (-chaos.seed)", seed)
	oro := &oroWriter{t: t, base: simURL, rng: rand.New(rand.NewPCG(seed, 1)), nextID: *chaosContacts}
	stopEdits := oro.run(ctx, *chaosEdits)
	rng := rand.New(rand.NewPCG(seed, 2))
	for round := 1; round <= *chaosRounds; round++ {
		wait := *chaosEvery/2 + time.Duration(rng.Int64N(int64(*chaosEvery)))
		if err := fleet.whileUp(ctx, wait); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		svc := allServices[rng.IntN(len(allServices))]
		fleet.kill(svc)
		fleet.start(svc) // as a supervisor would
	}
	stopEdits()
	lastKill := time.Now()
	t.Logf("%d rounds: kills %v; Oro: %d edits, %d deletes, %d creates (%s after the start)", *chaosRounds, fleet.kills,
		oro.edits, oro.deletes, oro.creates, lastKill.Sub(began).Round(time.Second))

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	settleCtx, cancelSettle := context.WithTimeout(ctx, *chaosSettle)
	defer cancelSettle()
	cmp := awaitMercatoEqualsOro(settleCtx, t, fleet, pool, simURL)
	t.Logf("Mercato equals Oro %s after the last kill, %s after the start: %d Oro contacts, %d Mercato persons compared, %d mismatches",
		time.Since(lastKill).Round(time.Second), time.Since(began).Round(time.Second), cmp.oro, cmp.mercato, len(cmp.mismatches))
	if n := deadLetters(ctx, t, natsURL); n != cmp.refused {
		t.Errorf("%d dead letters, want %d (the contacts the mapping refuses): a kill must not dead-letter a record", n, cmp.refused)
	}
}

// startNATSServerProcess runs the system's nats-server (NATS_SERVER, else nats-server on PATH or
// /usr/sbin/nats-server) with JetStream under t.TempDir(), as deploy/nats/single.conf configures it.
func startNATSServerProcess(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("NATS_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("nats-server"); err != nil {
			bin = "/usr/sbin/nats-server"
		}
	}
	dir := t.TempDir()
	port := freeTCPPort(t)
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("listen: 127.0.0.1:%d\nmax_payload: 8388608\njetstream { store_dir: %q }\n",
		port, filepath.Join(dir, "store"))), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf, "-l", filepath.Join(dir, "nats.log"))
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s (make services installs it): %v", bin, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	nc, err := nats.Connect(url, nats.RetryOnFailedConnect(true), nats.MaxReconnects(100), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.FlushTimeout(15 * time.Second); err != nil {
		t.Fatalf("nats-server at %s not ready: %v", url, err)
	}
	return url
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startSimProcess runs `orosync sim` with contacts contacts and the users and business units that own them.
func startSimProcess(ctx context.Context, t *testing.T, contacts int) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))
	var zero []string
	for _, typ := range []string{"accounts", "b2bcustomers", "leads", "opportunities", "cases", "tasks", "calls", "notes", "emails", "contactaddresses"} {
		zero = append(zero, typ+"=0")
	}
	sim := startOrosync(t, "sim", "--addr", addr, "--contacts", fmt.Sprint(contacts), "--counts", strings.Join(zero, ","))
	url := "http://" + addr
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if res, err := http.Get(url + "/__admin/stats"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case <-sim.Exited():
			t.Fatalf("the simulator ended: %v\n%s", sim.err, sim.output)
		case <-ctx.Done():
			t.Fatalf("the simulator did not answer: %v\n%s", ctx.Err(), sim.output)
		case <-tick.C:
		}
	}
}

// fleet is one process per service, each restarted after it is killed.
type fleet struct {
	t     *testing.T
	args  []string
	procs map[string]*child
	kills map[string]int
}

func newFleet(t *testing.T, natsURL, dbURL, simURL string) *fleet {
	return &fleet{t: t, procs: map[string]*child{}, kills: map[string]int{},
		args: []string{"--nats-url", natsURL, "--database-url", dbURL, "--tenant", chaosTenant, "--types", "contacts",
			"--oro-url", simURL + "/api", "--poll-interval", "1s", "--reconcile-interval", "20s", "--log-level", "warn"}}
}

func (f *fleet) start(svc string) {
	f.procs[svc] = startOrosync(f.t, append([]string{"run", "--services", svc}, f.args...)...)
}

// kill sends SIGKILL to the service's process and waits until it is gone.
func (f *fleet) kill(svc string) {
	f.t.Helper()
	c := f.procs[svc]
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		f.t.Fatalf("killing the %s: %v", svc, err)
	}
	<-c.Exited()
	f.kills[svc]++
}

// whileUp waits d, failing if a service process ends by itself meanwhile.
func (f *fleet) whileUp(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		for _, svc := range allServices {
			select {
			case <-f.procs[svc].Exited():
				return fmt.Errorf("the %s process ended by itself: %v\n%s", svc, f.procs[svc].err, f.procs[svc].output)
			default:
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// oroWriter changes Oro through the simulator's admin API, as users of Oro would while orosync syncs.
type oroWriter struct {
	t                       *testing.T
	base                    string
	rng                     *rand.Rand
	nextID                  int
	deleted                 map[int]bool
	edits, deletes, creates int
}

// run writes perSecond times a second until the returned stop is called.
func (o *oroWriter) run(ctx context.Context, perSecond int) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	o.deleted = map[int]bool{}
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second / time.Duration(max(perSecond, 1)))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := o.write(ctx); err != nil && ctx.Err() == nil {
				o.t.Errorf("writing to Oro: %v", err)
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (o *oroWriter) write(ctx context.Context) error {
	id := 1 + o.rng.IntN(o.nextID)
	for o.deleted[id] {
		id = 1 + o.rng.IntN(o.nextID)
	}
	switch p := o.rng.IntN(100); {
	case p < 85:
		o.edits++
		body := fmt.Sprintf(`{"jobTitle":"Chaos %d","lastName":"Edited %d"}`, o.edits, o.rng.IntN(1000))
		return o.send(ctx, http.MethodPatch, fmt.Sprintf("/__admin/contacts/%d", id), body, http.StatusOK)
	case p < 95:
		o.deletes++
		o.deleted[id] = true
		return o.send(ctx, http.MethodDelete, fmt.Sprintf("/__admin/contacts/%d", id), "", http.StatusNoContent)
	default:
		o.creates++
		o.nextID++ // the simulator numbers new records after the seeded ones
		body := fmt.Sprintf(`{"firstName":"Created","lastName":"In Chaos %d","primaryEmail":"chaos%d@example.com"}`, o.creates, o.creates)
		return o.send(ctx, http.MethodPost, "/__admin/contacts", body, http.StatusCreated)
	}
}

func (o *oroWriter) send(ctx context.Context, method, path, body string, want int) error {
	req, err := http.NewRequestWithContext(ctx, method, o.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %s", method, path, res.Status)
	}
	return nil
}

// awaitMercatoEqualsOro compares every few seconds until no record differs, and fails with the differences when
// ctx ends first or a service process ends by itself.
func awaitMercatoEqualsOro(ctx context.Context, t *testing.T, f *fleet, pool *pgxpool.Pool, simURL string) comparison {
	t.Helper()
	var last comparison
	for {
		cmp, err := compareOroWithMercato(ctx, pool, simURL)
		if err != nil && ctx.Err() == nil {
			t.Fatal(err)
		}
		if err == nil {
			if len(cmp.mismatches) == 0 {
				return cmp
			}
			t.Logf("%d of %d Oro contacts differ from Mercato", len(cmp.mismatches), cmp.oro)
			last = cmp
		}
		if err := f.whileUp(ctx, 10*time.Second); err != nil {
			shown := last.mismatches[:min(len(last.mismatches), 10)]
			t.Fatalf("Mercato does not equal Oro: %d of %d contacts differ (%v), e.g.\n  %s", len(last.mismatches), last.oro, err,
				strings.Join(shown, "\n  "))
		}
	}
}

// deadLetters counts the dead letters of the chaos tenant, every stage.
func deadLetters(ctx context.Context, t *testing.T, natsURL string) int {
	t.Helper()
	js := connectJetStream(t, natsURL)
	st, err := js.Stream(ctx, events.StreamDeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("orosync.dlq.>"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for subject, count := range info.State.Subjects {
		if slices.Contains(strings.Split(subject, "."), chaosTenant) {
			n += int(count)
		}
	}
	return n
}
