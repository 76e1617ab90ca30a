package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts"
	"github.com/orosync/orosync/mercatodb/dbtest"
)

// commandLines is every orosync command as a user types it before its flags.
var commandLines = [][]string{{"run"}, {"demo"}, {"sim"}, {"migrate"}, {"status"}, {"reconcile"}, {"conflicts", "list"},
	{"conflicts", "show"}, {"conflicts", "resolve"}, {"dlq", "list"}, {"dlq", "show"}, {"dlq", "redrive"}, {"dlq", "purge"},
	{"config", "check"}, {"map"}, {"replay"}}

// result is how an orosync process ended.
type result struct {
	stdout, stderr string
	code           int
}

// runOrosync runs `orosync args...` to its end in a process of its own (the test binary as main), with env added
// to the test's environment; a process still running after a minute is killed and fails the test.
func runOrosync(t *testing.T, env []string, args ...string) result {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(append(os.Environ(), env...), childArgsEnv+"="+string(raw))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) || ctx.Err() != nil {
		t.Fatalf("orosync %v did not end by itself: %v\n%s%s", args, err, &stdout, &stderr)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// watched is what a command could touch: a PostgreSQL database named like the demo's (so that a demo that ran
// would drop it), a NATS server with orosync's streams, and a data directory.
type watched struct {
	t       *testing.T
	ctx     context.Context
	dbName  string
	dbURL   string // with a password, which trust authentication ignores
	db      *pgx.Conn
	srv     *server.Server
	js      jetstream.JetStream
	dataDir string
}

// state is a snapshot of everything watched.
type state struct {
	Databases       []string         // databases named orosync_demo_help*
	Rows            map[string]int64 // rows per table of the watched database
	Sessions        int64            // sessions ever opened on the watched database
	NATSConnections uint64           // connections the NATS server ever accepted
	Streams         map[string]uint64
	Consumers       int
	Files           []string // the data directory's files with their sizes
}

func newWatched(t *testing.T) *watched {
	t.Helper()
	ctx := t.Context()
	w := &watched{t: t, ctx: ctx, dataDir: t.TempDir()}
	cfg, err := pgx.ParseConfig(dbtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	w.dbName = "orosync_demo_help_" + hex.EncodeToString(b)
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close(context.WithoutCancel(ctx)) }()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+w.dbName); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.ConnectConfig(context.Background(), cfg)
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+w.dbName+" WITH (FORCE)")
			_ = conn.Close(context.Background())
		}
	})
	w.dbURL = fmt.Sprintf("postgres://%s:db-password-ignored@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, w.dbName)
	if w.db, err = pgx.Connect(ctx, w.dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.db.Close(context.Background()) })
	// A table with a row, gone if the database were re-created; our own session's statistics flushed now, so
	// that the session count moves only for others.
	for _, q := range []string{"CREATE TABLE sentinel (id int)", "INSERT INTO sentinel VALUES (1)", "SELECT pg_stat_force_next_flush()"} {
		if _, err := w.db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	w.startNATS()
	if err := os.MkdirAll(filepath.Join(w.dataDir, "nats", "jetstream"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.dataDir, "nats", "jetstream", "sentinel"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *watched) startNATS() {
	t := w.t
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	w.js = connectJetStream(t, srv.ClientURL())
	if err := contracts.Ensure(w.ctx, w.js, contracts.Options{}); err != nil {
		t.Fatal(err)
	}
	w.srv = srv
}

// env points every setting a command reads at the watched parts.
func (w *watched) env() []string {
	return []string{"DATABASE_URL=" + w.dbURL, "OROSYNC_NATS_URL=" + w.srv.ClientURL(), "OROSYNC_DATA_DIR=" + w.dataDir}
}

func (w *watched) snapshot() state {
	t := w.t
	t.Helper()
	s := state{Rows: map[string]int64{}, Streams: map[string]uint64{}}
	w.awaitOtherSessionsGone()
	w.query("SELECT sessions FROM pg_stat_database WHERE datname = current_database()", &s.Sessions)
	rows, err := w.db.Query(w.ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'orosync\\_demo\\_help%' ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Databases, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	rows, err = w.db.Query(w.ctx, "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		var n int64
		w.query("SELECT count(*) FROM "+table, &n)
		s.Rows[table] = n
	}
	varz, err := w.srv.Varz(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.NATSConnections = varz.TotalConnections
	info, err := w.js.AccountInfo(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Consumers = info.Consumers
	for name := range w.js.StreamNames(w.ctx).Name() {
		st, err := w.js.Stream(w.ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		s.Streams[name] = st.CachedInfo().State.Msgs
	}
	err = filepath.WalkDir(w.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		s.Files = append(s.Files, fmt.Sprintf("%s %d", strings.TrimPrefix(path, w.dataDir), fi.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (w *watched) query(q string, dst any) {
	w.t.Helper()
	if err := w.db.QueryRow(w.ctx, q).Scan(dst); err != nil {
		w.t.Fatalf("%s: %v", q, err)
	}
}

// awaitOtherSessionsGone waits until no other session is on the watched database: a backend flushes its
// statistics (the session count) before it leaves pg_stat_activity.
func (w *watched) awaitOtherSessionsGone() {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		w.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", &n)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%d other sessions stay on %s", n, w.dbName)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *watched) assertUntouched(before state, what string) {
	w.t.Helper()
	if after := w.snapshot(); !reflect.DeepEqual(before, after) {
		w.t.Errorf("%s touched something:\nbefore %+v\nafter  %+v", what, before, after)
	}
}

func TestEveryWayOfAskingForHelpPrintsUsageOnly(t *testing.T) {
	w := newWatched(t)
	before := w.snapshot()
	// each way of asking for help, and what its usage must name
	// (keys differ by spaces around what the usage must name, which the loop's keys for each command never have)
	asks := map[string][]string{"orosync keeps": {"-h"}, "orosync keeps ": {"--help"}, " orosync keeps": {"help"},
		"\torosync conflicts list": {"conflicts", "-h"}, "\torosync conflicts list ": {"conflicts", "--help"},
		" orosync conflicts list": {"help", "conflicts"}, "\torosync dlq list": {"dlq", "-h"}, " orosync dlq list": {"help", "dlq"},
		"\torosync config check": {"config", "-h"}, " orosync config check": {"help", "config"}}
	for _, cmd := range commandLines {
		name := "orosync " + strings.Join(cmd, " ")
		asks[name] = append(cmd[:len(cmd):len(cmd)], "-h")
		asks[name+" "] = append(cmd[:len(cmd):len(cmd)], "--help")
		if len(cmd) == 1 {
			asks[" "+name] = []string{"help", cmd[0]}
		}
	}
	for want, args := range asks {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runOrosync(t, w.env(), args...)
			if r.code != 0 || !strings.Contains(r.stdout, strings.TrimSpace(want)) || r.stderr != "" {
				t.Errorf("exit %d, want 0 with a usage naming %q on stdout and nothing on stderr\nstdout: %s\nstderr: %s",
					r.code, strings.TrimSpace(want), r.stdout, r.stderr)
			}
			w.assertUntouched(before, "orosync "+strings.Join(args, " "))
		})
	}
}

func TestAMercatoWithVaultIsRefusedAtStartWithoutTouchingAnything(t *testing.T) {
	w := newWatched(t)
	before := w.snapshot()
	env := append(w.env(), "VAULT_ADDR=http://127.0.0.1:1", "VAULT_TOKEN=vault-token-51ce", "TENANT_DATA_ENCRYPTION_KEY=k")
	for _, args := range [][]string{{"run", "--oro-url", ""}, {"demo", "--oro-url", ""}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runOrosync(t, env, args...)
			if r.code != 1 || !strings.Contains(r.stderr, "HashiCorp Vault") || strings.Contains(r.stdout+r.stderr, "vault-token-51ce") {
				t.Errorf("exit %d, want 1 with the Vault set-up named (and not its token)\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			w.assertUntouched(before, "orosync "+strings.Join(args, " "))
		})
	}
}

func TestAnUnknownFlagIsAUsageErrorThatTouchesNothing(t *testing.T) {
	w := newWatched(t)
	before := w.snapshot()
	for _, cmd := range commandLines {
		args := append(cmd[:len(cmd):len(cmd)], "--bogus")
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runOrosync(t, w.env(), args...)
			if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "flag provided but not defined: -bogus") ||
				!strings.Contains(r.stderr, "Usage: orosync "+strings.Join(cmd, " ")) {
				t.Errorf("exit %d, want 2 with the problem and the usage on stderr only\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			w.assertUntouched(before, "orosync "+strings.Join(args, " "))
		})
	}
	for _, args := range [][]string{{"bogus"}, {}, {"conflicts"}, {"conflicts", "bogus"}, {"dlq"}, {"dlq", "bogus"}, {"dlq", "show"}, {"dlq", "redrive", "x"}, {"config"}, {"config", "bogus"}, {"help", "bogus"}, {"migrate", "extra"}} {
		t.Run(fmt.Sprintf("%q", args), func(t *testing.T) {
			if r := runOrosync(t, w.env(), args...); r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "Usage") {
				t.Errorf("exit %d, want 2 with the usage on stderr\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			w.assertUntouched(before, fmt.Sprintf("orosync %q", args))
		})
	}
}

// TestOutputNeverShowsSecrets runs every command with secrets in its environment: for help, after an
// unknown flag, and as far as it gets against a NATS server and a database that are not there.
func TestOutputNeverShowsSecrets(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0") // the simulator's address, taken: sim fails instead of serving
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	secrets := map[string]string{
		"OROSYNC_ORO_CLIENT_SECRET":           "oro-client-secret-5b1f",
		"OROSIM_CLIENT_SECRET":                "sim-client-secret-77ac",
		"OROSYNC_WEBHOOK_SECRET":              "webhook-secret-c0de",
		"ACME_WEBHOOK_SECRET":                 "acme-webhook-secret-9d2e",
		"TENANT_DATA_ENCRYPTION_KEY":          "tenant-encryption-key-41aa",
		"TENANT_DATA_ENCRYPTION_FALLBACK_KEY": "tenant-fallback-key-8c3b",
		"LOOKUP_HASH_PEPPER":                  "lookup-pepper-2d9a",
		"OROSYNC_OPS_TOKEN":                   "ops-page-token-1f7c5a90",
	}
	const dbPassword, natsPassword = "db-password-3e8d", "nats-password-6f0b"
	env := []string{"DATABASE_URL=postgres://orosync:" + dbPassword + "@127.0.0.1:1/orosync_demo?sslmode=disable",
		"OROSYNC_NATS_URL=nats://app:" + natsPassword + "@127.0.0.1:1", "OROSIM_ADDR=" + held.Addr().String(),
		"OROSYNC_ORO_URL=https://orosync:" + dbPassword + "@127.0.0.1:1/api", "OROSYNC_DATA_DIR=" + t.TempDir()}
	for k, v := range secrets {
		env = append(env, k+"="+v)
	}
	mapping := filepath.Join("..", "..", "services", "transformer", "mappings", "oro-v1.yaml")
	var runs [][]string
	for _, cmd := range commandLines {
		c := cmd[:len(cmd):len(cmd)]
		runs = append(runs, append(c, "-h"), append(c, "--bogus"), c)
	}
	runs = append(runs, []string{"conflicts", "show", "1"}, []string{"conflicts", "resolve", "1", "oro"},
		[]string{"dlq", "show", "1"}, []string{"dlq", "redrive", "1"}, []string{"dlq", "purge", "--yes"},
		[]string{"replay", "--mapping", mapping}, []string{"reconcile", "--confirm"}, []string{"run", "--oro-url", ""},
		[]string{"demo", "--oro-url", ""}, []string{"run", "--oro-url", "", "--database-url", strings.Replace(
			"postgres://orosync:PW@127.0.0.1:1/db", "PW", dbPassword, 1)})
	for _, args := range runs {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runOrosync(t, env, args...)
			out := r.stdout + r.stderr
			for name, secret := range secrets {
				if strings.Contains(out, secret) {
					t.Errorf("the output shows %s:\n%s", name, out)
				}
			}
			for _, pw := range []string{dbPassword, natsPassword} {
				if strings.Contains(out, pw) {
					t.Errorf("the output shows the password %s:\n%s", pw, out)
				}
			}
			if args[len(args)-1] != "-h" {
				return
			}
			for _, shown := range map[string][]string{"run": {"(DATABASE_URL) (default (set))", "(OROSYNC_NATS_URL) (default (set))", "(default (set))"},
				"conflicts": {"(default (set))"}, "sim": {"(default (set))"}}[args[0]] {
				if !strings.Contains(r.stdout, shown) {
					t.Errorf("the usage lacks %q:\n%s", shown, r.stdout)
				}
			}
		})
	}
}
