package dbtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/orosync/orosync/mercatodb"
)

// Cluster is a private PostgreSQL server for tests that stop and restart it (the shared server on 5432 must
// never be restarted: other packages' tests use it concurrently). It runs PostgreSQL 15's initdb and pg_ctl from
// PG_BINDIR (default /usr/lib/postgresql/15/bin, where Debian's postgresql-15 puts them) on a free port; as root
// they run as the postgres user, since initdb refuses to run as root.
type Cluster struct {
	Port int
	dir  string
	bin  string
	cred *syscall.Credential
}

// StartCluster initialises and starts a cluster, stopped and removed on cleanup.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := os.Getenv("PG_BINDIR")
	if bin == "" {
		bin = "/usr/lib/postgresql/15/bin"
	}
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		t.Fatalf("private PostgreSQL cluster: initdb not found in %s (set PG_BINDIR): %v", bin, err)
	}
	// Not t.TempDir(): its parents are private to the current user, and the cluster may run as postgres.
	dir, err := os.MkdirTemp("", "orosync-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	c := &Cluster{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("private PostgreSQL cluster: running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.run("initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.Port = freePort(t)
	conf := fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = on\n"+
		"shared_buffers = 32MB\nmax_connections = 40\n", c.Port, dir)
	f, err := os.OpenFile(filepath.Join(c.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	c.Start(t)
	t.Cleanup(func() { _, _ = c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop") })
	return c
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// URL of a database on the cluster.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, database)
}

// NewDatabase creates a database with Mercato's and orosync's tables on the cluster and returns its URL.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	url := c.URL("orosync_test")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := mercatodb.EnsureDatabase(ctx, url); err != nil {
		t.Fatal(err)
	}
	db, err := mercatodb.OpenDB(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := mercatodb.MigrateMercato(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := mercatodb.MigrateOrosync(ctx, db); err != nil {
		t.Fatal(err)
	}
	return url
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Crash stops the server the way a crash does (pg_ctl stop -m immediate: no checkpoint, open transactions cut
// off); the next Start recovers from the WAL.
func (c *Cluster) Crash(t testing.TB) {
	t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd.CombinedOutput()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
