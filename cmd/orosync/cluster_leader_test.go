package main

import (
	"flag"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts"
)

var clusterContacts = flag.Int("cluster.contacts", 0, "contacts of the cluster's leader-kill test (default 3,000; 100,000 with -long, make cluster-test)")

func TestKillingTheStreamLeaderMidSyncLosesAndDoublesNothing(t *testing.T) {
	contacts := 3000
	switch {
	case *clusterContacts > 0:
		contacts = *clusterContacts
	case *long:
		contacts = 100_000
	}
	// A stall fails with every process's output before go test's own timeout would.
	e := newClusterEnv(t, contacts, 4*time.Minute+time.Duration(contacts)*15*time.Millisecond)
	procs := map[string]*child{}
	for _, svc := range allServices {
		procs[svc] = e.start(svc, "--reconcile-interval", "1h")
	}
	// Mid-sync: the poller has stored a tenth of the contacts in ORO_RAW.
	admin := e.connectAs(contracts.UserAdmin)
	st, err := admin.js.Stream(e.ctx, "ORO_RAW")
	if err != nil {
		t.Fatal(err)
	}
	info := e.waitForStored(st, uint64(contacts/10), procs)
	if info.Cluster == nil || info.Cluster.Leader == "" {
		t.Fatalf("ORO_RAW has no leader: %+v", info.Cluster)
	}
	leader := info.Cluster.Leader
	e.nats.kill(leader)
	t.Logf("killed %s, ORO_RAW's leader, with %d of %d contacts stored", leader, info.State.Msgs, contacts)

	e.waitForPersons(contacts, procs)
	t.Run("another node leads the stream", func(t *testing.T) {
		info, err := st.Info(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Cluster == nil || info.Cluster.Leader == "" || info.Cluster.Leader == leader {
			t.Errorf("ORO_RAW's leader after the kill: %+v", info.Cluster)
		}
	})
	e.waitForIdle(admin)
	e.assertMercatoEqualsOro()
	for _, c := range procs {
		c.stop(t)
	}
}

// waitForStored waits until stream holds at least n messages, returning its info then.
func (e *clusterEnv) waitForStored(st jetstream.Stream, n uint64, procs map[string]*child) *jetstream.StreamInfo {
	e.t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := st.Info(e.ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		if info.State.Msgs >= n {
			return info
		}
		select {
		case <-e.ctx.Done():
			e.t.Fatalf("%d of %d stored: %v\n%s", info.State.Msgs, n, e.ctx.Err(), outputs(procs))
		case <-tick.C:
		}
	}
}
