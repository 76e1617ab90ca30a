package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

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
	const taken, takenOver = "lease taken: this instance is active", "lease taken over from an instance that stopped renewing it"
	activePoller := e.waitForLine(taken, pick(svcPoller))
	activeReconciler := e.waitForLine(taken, pick(svcReconciler))
	e.waitForPersons(contacts/4, procs)

	t.Run("one poller and one reconciler are active", func(t *testing.T) {
		for _, name := range []string{other(activePoller), other(activeReconciler)} {
			if strings.Contains(procs[name].output.String(), taken) {
				t.Errorf("%s is active too:\n%s", name, procs[name].output)
			}
		}
	})
	// Mid-sync: the active poller and reconciler, a transformer and a writer die without a word.
	for _, name := range []string{activePoller, activeReconciler, svcTransformer + "-1", svcWriter + "-2"} {
		kill(procs[name])
		delete(procs, name)
	}
	t.Run("the standbys take over", func(t *testing.T) {
		e.waitForLine(takenOver, map[string]*child{other(activePoller): procs[other(activePoller)]})
		e.waitForLine(takenOver, map[string]*child{other(activeReconciler): procs[other(activeReconciler)]})
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
		admin := e.connectAs(contracts.UserAdmin)
		entry, err := admin.kv(t, e.ctx).Get(e.ctx, coord.BudgetKey("acme"))
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
