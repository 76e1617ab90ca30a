package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/mercatodb/dbtest"
)

// childArgsEnv carries the orosync command line of a child process: the test binary re-executes itself as
// `orosync ARGS`, so tests and benchmarks run services in processes of their own, as they are deployed.
const childArgsEnv = "OROSYNC_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if nice := os.Getenv(nicenessEnv); nice != "" {
		os.Exit(printThreadNiceness(nice))
	}
	if raw := os.Getenv(childArgsEnv); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", childArgsEnv, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		stopProfiles := profileChild(args)
		code := exitCode(run(ctx, args, os.Stdout, os.Stderr), os.Stderr) // as main does
		stopProfiles()
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// profileDirEnv, set when running the benchmarks, makes every child write a CPU profile and, at exit, a heap
// profile there, named after its command line (run-services-writer.cpu): go tool pprof reads them with the test
// binary.
const profileDirEnv = "OROSYNC_BENCH_PROFILE_DIR"

func profileChild(args []string) (stop func()) {
	dir := os.Getenv(profileDirEnv)
	if dir == "" {
		return func() {}
	}
	name := filepath.Join(dir, strings.NewReplacer("--", "", "/", "_").Replace(strings.Join(args[:min(3, len(args))], "-")))
	cpu, err := os.Create(name + ".cpu")
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = cpu.Close()
		if heap, err := os.Create(name + ".heap"); err == nil {
			_ = pprof.Lookup("heap").WriteTo(heap, 0)
			_ = heap.Close()
		}
	}
}

// profileSelf profiles this process (the embedded JetStream server, in the end-to-end benchmark) into
// $OROSYNC_BENCH_PROFILE_DIR/name.cpu until the returned func is called, which also writes its heap to name.heap.
func profileSelf(tb testing.TB, name string) (stop func()) {
	dir := os.Getenv(profileDirEnv)
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, name+".cpu"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		tb.Fatal(err) // go test -cpuprofile is already profiling
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
		if heap, err := os.Create(filepath.Join(dir, name+".heap")); err == nil {
			_ = pprof.Lookup("heap").WriteTo(heap, 0)
			_ = heap.Close()
		}
	}
}

// child is `orosync ARGS` running in a process of its own.
type child struct {
	cmd    *exec.Cmd
	output *lockedBuffer
	exited chan struct{}
	err    error // after exited
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startOrosync starts `orosync args...` as a child process; it is killed when the test ends, if still running.
func startOrosync(tb testing.TB, args ...string) *child {
	tb.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		tb.Fatal(err)
	}
	c := &child{cmd: exec.Command(os.Args[0]), output: &lockedBuffer{}, exited: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), childArgsEnv+"="+string(raw))
	c.cmd.Stdout, c.cmd.Stderr = c.output, c.output
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // a test binary killed by its timeout takes its children along
	if err := c.cmd.Start(); err != nil {
		tb.Fatalf("starting orosync %v: %v", args, err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.exited) }()
	tb.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	})
	return c
}

// Exited is closed when the process has ended.
func (c *child) Exited() <-chan struct{} { return c.exited }

// procUsage is what a child process used: its peak resident set and its CPU time.
type procUsage struct {
	peakRSSMB float64
	cpu       time.Duration
}

// stop ends the process as an operator would (SIGTERM) and returns its usage. The peak RSS is the process's own
// VmHWM, read before the signal: the ru_maxrss that wait4 reports also counts the parent's resident set, which a
// child started with vfork shares until it executes.
func (c *child) stop(tb testing.TB) procUsage {
	tb.Helper()
	select {
	case <-c.exited:
		tb.Fatalf("orosync %v ended early: %v\n%s", c.cmd.Args, c.err, c.output)
	default:
	}
	var u procUsage
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid)); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				u.peakRSSMB = kb / 1024
			}
		}
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(time.Minute):
		_ = c.cmd.Process.Kill()
		<-c.exited
		tb.Fatalf("orosync did not stop within a minute of SIGTERM\n%s", c.output)
	}
	if c.err != nil {
		tb.Fatalf("orosync ended with %v\n%s", c.err, c.output)
	}
	ru := c.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	u.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return u
}

// ended awaits a process that ends by itself and returns its CPU time; it fails the test if the process failed.
func (c *child) ended(tb testing.TB) procUsage {
	tb.Helper()
	<-c.exited
	if c.err != nil {
		tb.Fatalf("orosync %v ended with %v\n%s", c.cmd.Args, c.err, c.output)
	}
	ru := c.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return procUsage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
}

// profilePostgres, when $OROSYNC_BENCH_PROFILE_DIR is set and PostgreSQL has pg_stat_statements loaded, clears the
// statement statistics of dbURL's database and, when the returned func is called, writes its statements by total
// time to name.pgss.txt there: PostgreSQL's share of a benchmark, statement by statement.
func profilePostgres(tb testing.TB, dbURL, name string) (stop func()) {
	dir := os.Getenv(profileDirEnv)
	if dir == "" {
		return func() {}
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dbtest.ServerURL())
	if err != nil {
		tb.Fatal(err)
	}
	db := dbName(tb, dbURL)
	if _, err := admin.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		tb.Logf("pg_stat_statements: %v", err)
		_ = admin.Close(ctx)
		return func() {}
	}
	if _, err := admin.Exec(ctx, `SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = $1), 0)`, db); err != nil {
		tb.Logf("pg_stat_statements (add it to shared_preload_libraries to profile PostgreSQL): %v", err)
		_ = admin.Close(ctx)
		return func() {}
	}
	return func() {
		defer func() { _ = admin.Close(ctx) }()
		rows, err := admin.Query(ctx, `SELECT calls, rows, round(total_exec_time)::bigint, round(total_plan_time)::bigint,
       shared_blks_hit + shared_blks_read, left(regexp_replace(query, '\s+', ' ', 'g'), 400)
FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)
ORDER BY total_exec_time + total_plan_time DESC LIMIT 40`, db)
		if err != nil {
			tb.Errorf("pg_stat_statements: %v", err)
			return
		}
		var out strings.Builder
		fmt.Fprintln(&out, "calls\trows\texec_ms\tplan_ms\tblocks\tquery")
		for rows.Next() {
			var calls, n, exec, plan, blocks int64
			var query string
			if err := rows.Scan(&calls, &n, &exec, &plan, &blocks, &query); err != nil {
				tb.Errorf("pg_stat_statements: %v", err)
				return
			}
			fmt.Fprintf(&out, "%d\t%d\t%d\t%d\t%d\t%s\n", calls, n, exec, plan, blocks, query)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".pgss.txt"), []byte(out.String()), 0o644); err != nil {
			tb.Error(err)
		}
	}
}

// connectJetStream connects to NATS at url for the rest of the test and returns its JetStream.
func connectJetStream(tb testing.TB, url string) jetstream.JetStream {
	tb.Helper()
	js, closeNC, err := connectJS(url, "orosync-test")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(closeNC)
	return js
}
