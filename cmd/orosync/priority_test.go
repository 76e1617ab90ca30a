package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// nicenessEnv makes the test binary lower its priority to the given niceness, start threads, print every
// thread's niceness and exit (see TestMain).
const nicenessEnv = "OROSYNC_TEST_NICENESS"

// printThreadNiceness is the child's side: lowerPriority, then threads started after it, then each thread's
// niceness (field 19 of /proc/self/task/TID/stat), one per line.
func printThreadNiceness(nice string) int {
	n, err := strconv.Atoi(nice)
	if err == nil {
		err = lowerPriority(n)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() { // a locked goroutine keeps its thread; the runtime starts others for the rest
			goruntime.LockOSThread()
			wg.Done()
			<-release
		}()
	}
	wg.Wait()
	stats, _ := filepath.Glob("/proc/self/task/*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		fmt.Println(fields[16]) // after "pid (comm)": state is field 3, niceness field 19
	}
	close(release)
	return 0
}

func TestAReplayLowersThePriorityOfEveryThreadItRuns(t *testing.T) {
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	base := 20 - prio // this test's own niceness: nice -n adds to it
	if base > 14 {
		t.Fatalf("the test runs at niceness %d; it needs room above it (at most 14)", base)
	}
	for _, tc := range []struct {
		name        string
		added, nice int
	}{
		{"from the test's priority", 0, base + 5},
		{"a process started nicer keeps its niceness", 5, base + 3},
		{"zero leaves the priority as started", 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := base + tc.added
			want := strconv.Itoa(max(started, tc.nice))
			cmd := exec.Command("nice", "-n", strconv.Itoa(tc.added), os.Args[0])
			cmd.Env = append(os.Environ(), nicenessEnv+"="+strconv.Itoa(tc.nice))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			lines := strings.Fields(string(out))
			if len(lines) < 5 {
				t.Fatalf("%d threads reported, want at least 5 (the main one and four started after): %q", len(lines), out)
			}
			for i, got := range lines {
				if got != want {
					t.Errorf("thread %d of %d runs at niceness %s, want %s", i+1, len(lines), got, want)
				}
			}
		})
	}
}
