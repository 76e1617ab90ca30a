package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/mercatodb/dbtest"
)

// syncBuffer is a buffer the services log to from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// withPassword sets a URL's user and password.
func withPassword(t *testing.T, raw, user, password string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}

func TestNoPasswordOfAURLReachesTheLogsOrTheErrors(t *testing.T) {
	ns := jstest.Start(t)
	natsURL := withPassword(t, ns.URL, "orosync", "nats-hunter2")             // the test server takes any
	dbURL := withPassword(t, dbtest.NewDatabase(t), "postgres", "pg-hunter2") // trust authentication
	oroURL := "https://oro-user:oro-hunter2@127.0.0.1:1/api"                  // nobody there: errors name it
	secrets := []string{"nats-hunter2", "pg-hunter2", "oro-hunter2", "client-hunter2"}
	t.Setenv("OROSYNC_ORO_CLIENT_SECRET", "client-hunter2")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var out, logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "--nats-url", natsURL, "--database-url", dbURL, "--oro-url", oroURL,
			"--tenant", "acme", "--poll-interval", "100ms", "--log-level", "debug"}, &out, &logs)
	}()
	// The poller's first round fails on Oro, naming where it asked; the other services are up by then.
	for !strings.Contains(logs.String(), "oro-user") {
		select {
		case err := <-done:
			t.Fatalf("run ended: %v\n%s", err, logs.String())
		case <-ctx.Done():
			t.Fatalf("no error naming Oro's URL in the logs:\n%s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	err := <-done
	all := out.String() + logs.String()
	if err != nil {
		all += err.Error()
	}
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("%q appears in the output:\n%s", s, all)
		}
	}
	for _, failed := range []string{"migrate", "status", "reconcile"} {
		var o, e bytes.Buffer
		args := []string{failed, "--nats-url", "nats://orosync:nats-hunter2@127.0.0.1:1",
			"--database-url", "postgres://postgres:pg-hunter2@127.0.0.1:1/x", "--oro-url", oroURL}
		err := run(t.Context(), args, &o, &e)
		text := o.String() + e.String()
		if err != nil {
			text += err.Error()
		}
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("orosync %s: %q appears in %q", failed, s, text)
			}
		}
	}
}
