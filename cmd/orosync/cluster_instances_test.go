package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts"
	"github.com/orosync/orosync/contracts/coord"
)

// waitForLine waits until one of procs printed line, returning its name; it fails if a process ends first.
func (e *clusterEnv) waitForLine(line string, procs map[string]*child) string {
	e.t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for name, c := range procs {
			if strings.Contains(c.output.String(), line) {
				return name
			}
			select {
			case <-c.Exited():
				e.t.Fatalf("%s ended: %v\n%s", name, c.err, c.output)
			default:
			}
		}
		select {
		case <-e.ctx.Done():
			e.t.Fatalf("no process printed %q\n%s", line, outputs(procs))
		case <-tick.C:
		}
	}
}

// Lease lines a service logs (coord.Lease.Run).
const (
	leaseTaken     = "lease taken: this instance is active"
	leaseLost      = "lease lost: this instance stands by"
	leaseTakenOver = "lease taken over from an instance that stopped renewing it"
)

// inTerm says whether c holds a lease by its own log: it took the lease once more than it lost it.
func inTerm(c *child) bool {
	out := c.output.String()
	return strings.Count(out, leaseTaken) == strings.Count(out, leaseLost)+1
}

// waitForOneActive waits until exactly one of pair is in a lease term by its own log and the lease key names it
// (host and process id), and returns its name. A handover under load passes through a moment when neither is
// active; the election is right when it settles on one.
func (e *clusterEnv) waitForOneActive(t *testing.T, kv jetstream.KeyValue, key string, pair map[string]*child) string {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var active []string
		for name, c := range pair {
			if inTerm(c) {
				active = append(active, name)
			}
		}
		h, ok, err := coord.ReadLease(e.ctx, kv, key)
		if err != nil {
			t.Fatalf("reading %s: %v", key, err)
		}
		if len(active) == 1 && ok && strings.HasPrefix(h.Holder, fmt.Sprintf("%s-%d-", mustHostname(t), pair[active[0]].cmd.Process.Pid)) {
			return active[0]
		}
		select {
		case <-e.ctx.Done():
			t.Fatalf("never exactly one active instance holding %s (in a term: %v, key: %+v)\n%s", key, active, h, outputs(pair))
		case <-tick.C:
		}
	}
}

// waitForMore waits until c printed line more than n times; it fails if c ends first.
func (e *clusterEnv) waitForMore(t *testing.T, line string, n int, name string, c *child) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for strings.Count(c.output.String(), line) <= n {
		select {
		case <-c.Exited():
			t.Fatalf("%s ended: %v\n%s", name, c.err, c.output)
		case <-e.ctx.Done():
			t.Fatalf("%s did not print %q\n%s", name, line, c.output)
		case <-tick.C:
		}
	}
}

// kill ends a process with SIGKILL and waits for it to be gone.
func kill(c *child) {
	_ = c.cmd.Process.Kill()
	<-c.Exited()
}

func TestTwoInstancesOfEveryService(t *testing.T) {
	const contacts = 2000
	e := newClusterEnv(t, contacts, 6*time.Minute)
	t.Setenv("OROSYNC_ORO_BUDGET", "1000000") // limited, so shared: every request takes a grant of _budget.acme
	procs := map[string]*child{}
	for _, svc := range allServices {
		for _, n := range []string{"1", "2"} {
			procs[svc+"-"+n] = e.start(svc, "--lease-period", "2s", "--reconcile-interval", "1h", "--log-level", "info")
		}
	}
	pick := func(svc string) map[string]*child {
		return map[string]*child{svc + "-1": procs[svc+"-1"], svc + "-2": procs[svc+"-2"]}
	}
	other := func(name string) string {
		if strings.HasSuffix(name, "-1") {
			return strings.TrimSuffix(name, "-1") + "-2"
		}
		return strings.TrimSuffix(name, "-2") + "-1"
	}
	admin := e.connectAs(contracts.UserAdmin)
	adminKV := admin.kv(t, e.ctx)
	e.waitForLine(leaseTaken, pick(svcPoller))
	e.waitForLine(leaseTaken, pick(svcReconciler))
	e.waitForPersons(contacts/4, procs)

	var activePoller, activeReconciler string
	t.Run("one poller and one reconciler are active", func(t *testing.T) {
		activePoller = e.waitForOneActive(t, adminKV, coord.PollerLeaseKey("acme"), pick(svcPoller))
		activeReconciler = e.waitForOneActive(t, adminKV, coord.ReconcilerLeaseKey("acme"), pick(svcReconciler))
	})
	if activePoller == "" || activeReconciler == "" {
		t.FailNow()
	}
	standbys := map[string]int{} // how often each standby has taken over so far
	for _, name := range []string{other(activePoller), other(activeReconciler)} {
		standbys[name] = strings.Count(procs[name].output.String(), leaseTakenOver)
	}
	// Mid-sync: the active poller and reconciler, a transformer and a writer die without a word.
	for _, name := range []string{activePoller, activeReconciler, svcTransformer + "-1", svcWriter + "-2"} {
		kill(procs[name])
		delete(procs, name)
	}
	t.Run("the standbys take over", func(t *testing.T) {
		for name, n := range standbys {
			e.waitForMore(t, leaseTakenOver, n, name, procs[name])
		}
	})
	t.Run("status names the active instances", func(t *testing.T) {
		var out strings.Builder
		if err := run(e.ctx, []string{"status", "--nats-url", e.nats.URL(contracts.UserAdmin), "--database-url", e.dbURL,
			"--tenant", "acme", "--types", "contacts"}, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		for svc, name := range map[string]string{svcPoller: other(activePoller), svcReconciler: other(activeReconciler)} {
			if want := fmt.Sprintf("active %s: %s-%d-", svc, mustHostname(t), procs[name].cmd.Process.Pid); !strings.Contains(out.String(), want) {
				t.Errorf("status does not say %q:\n%s", want, out.String())
			}
		}
	})
	t.Run("together they sync every contact once", func(t *testing.T) {
		e.waitForPersons(contacts, procs)
		e.assertMercatoEqualsOro()
	})

	t.Run("the Oro requests took grants of the connection's shared budget", func(t *testing.T) {
		entry, err := adminKV.Get(e.ctx, coord.BudgetKey("acme"))
		if err != nil {
			t.Fatalf("the shared budget's key: %v", err)
		}
		var v struct {
			Seconds map[string]int `json:"seconds"`
		}
		if err := json.Unmarshal(entry.Value(), &v); err != nil || len(v.Seconds) == 0 {
			t.Fatalf("shared budget %s: %v", entry.Value(), err)
		}
	})
	for name, c := range procs {
		if out := c.output.String(); strings.Contains(out, "Permissions Violation") {
			t.Errorf("%s was refused something it does:\n%s", name, out)
		}
		c.stop(t)
	}
}

func mustHostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
