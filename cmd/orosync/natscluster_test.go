package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts"
)

// natsServerBin is Debian's nats-server, the one the cluster tests run (three processes on loopback).
const natsServerBin = "/usr/sbin/nats-server"

// natsCluster is three Debian nats-server processes configured from deploy/nats/node.conf.template and the
// users of `orosync nats-accounts`, in a temporary directory.
type natsCluster struct {
	t         testing.TB
	dir       string
	names     []string
	ports     []int
	monitors  []int
	procs     map[string]*exec.Cmd
	exited    map[string]chan struct{}
	passwords map[string]string
}

// freeLoopbackPorts returns n distinct free loopback ports: every listener stays open until all are chosen, since
// a port closed at once can be handed out again by the next (a node then found its route port taken by its own
// monitor).
func freeLoopbackPorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = ln.Close() }()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// startNATSCluster starts the cluster with a poller and a reconciler user per tenant, and waits until JetStream
// answers the admin.
func startNATSCluster(t *testing.T, tenants ...string) *natsCluster {
	t.Helper()
	if _, err := os.Stat(natsServerBin); err != nil {
		t.Fatalf("the cluster tests need Debian's nats-server (make services installs it): %v", err)
	}
	tmpl, err := os.ReadFile("../../deploy/nats/node.conf.template")
	if err != nil {
		t.Fatal(err)
	}
	c := &natsCluster{t: t, dir: t.TempDir(), procs: map[string]*exec.Cmd{}, exited: map[string]chan struct{}{},
		passwords: map[string]string{}}
	users := contracts.Users(tenants)
	env := os.Environ()
	for _, u := range users {
		c.passwords[u.Name] = "pw-" + u.Name
		env = append(env, contracts.PasswordVar(u.Name)+"="+c.passwords[u.Name])
	}
	if err := os.WriteFile(filepath.Join(c.dir, "accounts.conf"), []byte(contracts.AccountsConf(users)), 0o600); err != nil {
		t.Fatal(err)
	}
	free := freeLoopbackPorts(t, 9)
	routes := free[:3]
	for i := range 3 {
		name := fmt.Sprintf("orosync-%d", i+1)
		port, monitor := free[3+i], free[6+i]
		c.monitors = append(c.monitors, monitor)
		conf := strings.NewReplacer("$NAME", name, "$CLIENT_PORT", strconv.Itoa(port),
			"$MONITOR_PORT", strconv.Itoa(monitor), "$CLUSTER_PORT", strconv.Itoa(routes[i]),
			"$ROUTE_PORT_1", strconv.Itoa(routes[0]), "$ROUTE_PORT_2", strconv.Itoa(routes[1]), "$ROUTE_PORT_3", strconv.Itoa(routes[2]),
			"$STORE_DIR", filepath.Join(c.dir, "store-"+name)).Replace(string(tmpl))
		file := filepath.Join(c.dir, name+".conf")
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		c.names, c.ports = append(c.names, name), append(c.ports, port)
		c.start(name, env)
	}
	t.Cleanup(func() {
		for _, n := range c.names {
			c.kill(n)
		}
	})
	c.waitForJetStream()
	return c
}

func (c *natsCluster) start(name string, env []string) {
	c.t.Helper()
	cmd := exec.Command(natsServerBin, "-c", filepath.Join(c.dir, name+".conf"), "-l", filepath.Join(c.dir, name+".log"))
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // a test binary killed by its timeout takes the nodes along
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	c.procs[name], c.exited[name] = cmd, done
}

// kill ends a node with SIGKILL, as a crash would, and waits for it to be gone.
func (c *natsCluster) kill(name string) {
	select {
	case <-c.exited[name]:
		return
	default:
	}
	_ = c.procs[name].Process.Signal(syscall.SIGKILL)
	<-c.exited[name]
}

// URL is the address of every node, as user.
func (c *natsCluster) URL(user string) string {
	parts := make([]string, len(c.ports))
	for i, p := range c.ports {
		u := url.URL{Scheme: "nats", Host: "127.0.0.1:" + strconv.Itoa(p), User: url.UserPassword(user, c.passwords[user])}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// waitForJetStream waits until the nodes elected a meta leader: the admin's account info answers.
func (c *natsCluster) waitForJetStream() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, err := nats.Connect(c.URL(contracts.UserAdmin), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1),
		nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		c.t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatal(err)
	}
	// Nothing announces the election to a client: ask until it answers.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		rctx, rcancel := context.WithTimeout(ctx, time.Second)
		_, err := js.AccountInfo(rctx)
		rcancel()
		if err == nil {
			err = c.metaGroupComplete(ctx)
		}
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("the cluster's JetStream did not answer: %v\n%s", err, c.logs())
		case <-tick.C:
		}
	}
}

// metaGroupComplete tells whether a node leads JetStream's meta group with both others current: a leader elected by
// two nodes answers before the third has joined, and R3 streams then find no peers to be placed on.
func (c *natsCluster) metaGroupComplete(ctx context.Context) error {
	for _, m := range c.monitors {
		var jsz struct {
			Meta *struct {
				Leader   string `json:"leader"`
				Replicas []struct {
					Current bool `json:"current"`
				} `json:"replicas"`
			} `json:"meta_cluster"`
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(m)+"/jsz", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue // a node still starting
		}
		err = json.NewDecoder(resp.Body).Decode(&jsz)
		_ = resp.Body.Close()
		if err != nil || jsz.Meta == nil || len(jsz.Meta.Replicas) != len(c.names)-1 {
			continue
		}
		current := 0
		for _, r := range jsz.Meta.Replicas {
			if r.Current {
				current++
			}
		}
		if current == len(c.names)-1 {
			return nil
		}
	}
	return errors.New("no node leads a meta group with every other node current")
}

func (c *natsCluster) logs() string {
	var b strings.Builder
	for _, n := range c.names {
		out, _ := os.ReadFile(filepath.Join(c.dir, n+".log"))
		fmt.Fprintf(&b, "--- %s\n%s", n, out)
	}
	return b.String()
}
