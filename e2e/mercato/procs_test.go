//go:build mercatoe2e

package mercato

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// proc is a child process in a process group of its own, ended by group.
type proc struct {
	name     string
	cmd      *exec.Cmd
	pgidFile string
}

// start runs bin args with env added, output to <runDir>/<name>.log; the test's cleanup ends its process group.
func start(t *testing.T, runDir, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	f, err := os.Create(filepath.Join(runDir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, pgidFile: filepath.Join(runDir, name+".pgid")}
	// run.sh ends the groups named in <runDir>/*.pgid too, should the suite itself be killed before its cleanup.
	_ = os.WriteFile(p.pgidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	t.Cleanup(func() { p.stop(); f.Close() })
	t.Logf("%s started (process group %d), log %s", name, cmd.Process.Pid, f.Name())
	return p
}

// stop ends the process group: TERM, then KILL after 20 s.
func (p *proc) stop() {
	defer os.Remove(p.pgidFile)
	if p.cmd.ProcessState != nil {
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

// freePort asks the kernel for a free TCP port on the loopback interface.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitHTTP waits until url answers with any status, or fails the test after d.
func waitHTTP(ctx context.Context, t *testing.T, url string, d time.Duration) {
	t.Helper()
	if err := eventually(ctx, d, 200*time.Millisecond, func() error {
		res, err := http.Get(url)
		if err != nil {
			return err
		}
		res.Body.Close()
		return nil
	}); err != nil {
		t.Fatalf("%s did not answer: %v", url, err)
	}
}

// eventually calls f until it returns nil or d has passed, every interval; the last error is returned.
func eventually(ctx context.Context, d, interval time.Duration, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", d, err)
		case <-tick.C:
		}
	}
}
