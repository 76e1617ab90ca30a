package natsconn_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/contracts/natsconn"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestConnectionThroughAnOutage(t *testing.T) {
	ns := jstest.StartBare(t)
	failed := make(chan struct{}, 1000)
	c, err := natsconn.Connect(ns.URL, "test", quiet, nats.ReconnectWait(time.Millisecond), nats.ReconnectJitter(0, 0),
		nats.ReconnectErrHandler(func(*nats.Conn, error) { failed <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := c.Guard(t.Context())
	defer cancel()
	reconnected := make(chan struct{}, 1)
	c.SetReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} })
	ns.Stop()
	t.Run("waits it out", func(t *testing.T) {
		for range 3 * 60 { // three times nats.go's default budget of 60 attempts
			select {
			case <-failed:
			case <-ctx.Done():
				t.Fatalf("the guarded context ended during the outage: %v", context.Cause(ctx))
			}
		}
	})
	ns.Restart(t)
	t.Run("reconnects with no cause left", func(t *testing.T) {
		select {
		case <-reconnected:
		case <-ctx.Done():
			t.Fatalf("the guarded context ended: %v", context.Cause(ctx))
		}
		if err := natsconn.Cause(ctx); err != nil {
			t.Fatalf("cause %v after a reconnect", err)
		}
	})
}

func TestAConnectionClosedForGoodEndsTheGuardedContextWithErrClosed(t *testing.T) {
	ns := jstest.StartBare(t)
	// An operator's limit: the connection gives up after one round.
	c, err := natsconn.Connect(ns.URL, "test", quiet, nats.MaxReconnects(1), nats.ReconnectWait(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := c.Guard(t.Context())
	defer cancel()
	ns.Stop()
	<-ctx.Done()
	if err := natsconn.Cause(ctx); !errors.Is(err, natsconn.ErrClosed) {
		t.Fatalf("cause %v, want ErrClosed", err)
	}
}

func TestShuttingDownIsNotAClosedConnection(t *testing.T) {
	ns := jstest.StartBare(t)
	c, err := natsconn.Connect(ns.URL, "test", quiet)
	if err != nil {
		t.Fatal(err)
	}
	parent, stop := context.WithCancel(t.Context())
	ctx, cancel := c.Guard(parent)
	stop()
	cancel()
	c.Close()
	<-c.Closed()
	if err := natsconn.Cause(ctx); err != nil {
		t.Fatalf("cause %v after a shutdown", err)
	}
}

func TestAFailedConnectNamesTheURLWithoutItsPassword(t *testing.T) {
	_, err := natsconn.Connect("nats://orosync:hunter2@127.0.0.1:1", "test", quiet)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("error %v: want the server's address without the password", err)
	}
}

func TestUserIsTheFirstUserNamedInTheURLs(t *testing.T) {
	for url, want := range map[string]string{
		"nats://127.0.0.1:4222":                                  "",
		"nats://poller-acme:pw@127.0.0.1:4222":                   "poller-acme",
		"nats://127.0.0.1:4222, nats://writer:pw@127.0.0.1:4223": "writer",
		"nats://writer:p%40ss@a:1,nats://writer:p%40ss@b:1":      "writer",
	} {
		if got := natsconn.User(url); got != want {
			t.Errorf("User(%q) = %q, want %q", url, got, want)
		}
	}
}
