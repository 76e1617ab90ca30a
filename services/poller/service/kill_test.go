package service_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/services/poller/app"
	"github.com/orosync/orosync/services/poller/service"
)

// long runs the acceptance sizes (100,000 contacts for the kill -9 test); `make bench` passes it.
var long = flag.Bool("long", false, "run the full acceptance sizes (slow)")

// TestMain lets the test binary act as the poller process of the kill -9 test (OROSYNC_POLLER_CHILD=1): it polls
// once, printing a line per acknowledged page, and exits 0 when caught up.
func TestMain(m *testing.M) {
	if os.Getenv("OROSYNC_POLLER_CHILD") == "1" {
		os.Exit(childPoller())
	}
	flag.Parse()
	os.Exit(m.Run())
}

func childPoller() int {
	if path := os.Getenv("OROSYNC_CHILD_CPUPROFILE"); path != "" {
		// Profiles the child of a benchmark run (go tool pprof the file).
		if f, err := os.Create(path); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	pageSize, _ := strconv.Atoi(os.Getenv("OROSYNC_PAGE_SIZE"))
	perMinute, _ := strconv.ParseFloat(os.Getenv("OROSYNC_ORO_BUDGET"), 64)
	budget := oro.NewCatchUpBudget("acme", perMinute, nil)
	out := bufio.NewWriter(os.Stdout)
	err := service.Run(context.Background(), service.Config{NatsURL: os.Getenv("OROSYNC_NATS_URL"), PageSize: pageSize, Once: true,
		SafetyLag: time.Second,
		OnProgress: func(p app.Progress) {
			fmt.Fprintf(out, "page %d\n", p.Cursor.Done)
			out.Flush()
		},
		Tenants: map[string]service.Tenant{"acme": {Types: []string{"contacts"}, Oro: oro.Config{Budget: budget,
			BaseURL: os.Getenv("OROSYNC_ORO_URL"), ClientID: "id", ClientSecret: os.Getenv("OROSYNC_ORO_CLIENT_SECRET")}}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	st, _ := json.Marshal(budget.State())
	fmt.Fprintf(out, "budget %s\n", st)
	// Peak RSS of this process's own address space: the rusage of a child started by os/exec also counts the
	// parent's pages it shared until exec (Linux keeps the larger high-water mark).
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for l := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				fmt.Fprintf(out, "rss-kb %s\n", strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			}
		}
	}
	out.Flush()
	return 0
}

// childCommand runs the test binary as a poller process against f.
func childCommand(t testing.TB, f fixture, pageSize int, budgetPerMinute float64) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), "OROSYNC_POLLER_CHILD=1", "OROSYNC_NATS_URL="+f.nat, "OROSYNC_ORO_URL="+f.url+"/api",
		"OROSYNC_ORO_CLIENT_SECRET=secret", "OROSYNC_PAGE_SIZE="+strconv.Itoa(pageSize),
		"OROSYNC_ORO_BUDGET="+strconv.FormatFloat(budgetPerMinute, 'f', -1, 64))
	cmd.Stderr = os.Stderr
	return cmd
}

func TestKilledPollerResumesWithoutLosingOrRepeatingRecords(t *testing.T) {
	contacts, pageSize := 10_000, 250
	if *long {
		contacts, pageSize = 100_000, 1000
	}
	f := setup(t, contacts)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	pages := contacts / pageSize
	kills := 0
	for round := 0; ; round++ {
		cmd := childCommand(t, f, pageSize, 0)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number of acknowledged pages plus a random moment into the next one.
		killAfter := -1
		if kills < 10 {
			killAfter = rng.IntN(max(pages/20, 1)) // at most half the pages in 10 rounds: the run cannot end early
		}
		sc := bufio.NewScanner(stdout)
		seen := 0
		for sc.Scan() {
			if seen == killAfter {
				time.AfterFunc(time.Duration(rng.IntN(30))*time.Millisecond, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
			}
			seen++
		}
		err = cmd.Wait()
		if err == nil {
			if kills < 10 {
				t.Fatalf("round %d: the poller finished before it could be killed 10 times (%d kills); use more contacts", round, kills)
			}
			break
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: poller failed: %v", round, err)
		}
		kills++
	}
	info := f.stream(t)
	if info.State.NumSubjects != uint64(contacts) || info.State.Msgs != uint64(contacts) {
		t.Errorf("after %d kills ORO_RAW holds %d records in %d messages; want %d each (a repeat under another Nats-Msg-Id would be an extra message)",
			kills, info.State.NumSubjects, info.State.Msgs, contacts)
	}
}
