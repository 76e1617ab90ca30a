// Package jstest starts a real, in-process NATS server with JetStream for tests, with orosync's streams,
// consumers and buckets created from the contracts.
package jstest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts"
)

// Server is a running test server.
type Server struct {
	URL  string
	NC   *nats.Conn
	JS   jetstream.JetStream
	srv  *server.Server
	opts *server.Options
}

// Start runs a JetStream server storing under t.TempDir(), applies the contracts, and stops it on cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := StartBare(t, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := contracts.Ensure(ctx, s.JS, contracts.Options{}); err != nil {
		t.Fatalf("applying contracts: %v", err)
	}
	return s
}

// Option changes the test server's options.
type Option func(*server.Options)

// MaxPayload sets the server's max_payload (the default is NATS's 1 MiB; orosync's deploy/nats sets 8 MiB).
func MaxPayload(n int32) Option { return func(o *server.Options) { o.MaxPayload = n } }

// StartBare runs a JetStream server without creating any stream.
func StartBare(t testing.TB, options ...Option) *Server {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
	for _, o := range options {
		o(opts)
	}
	srv := serve(t, opts)
	opts.Port = srv.Addr().(*net.TCPAddr).Port // a restart listens where the clients reconnect to
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatalf("nats connect: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	s := &Server{URL: srv.ClientURL(), NC: nc, JS: js, srv: srv, opts: opts}
	t.Cleanup(func() {
		nc.Close()
		s.Stop()
	})
	return s
}

func serve(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	return srv
}

// Stop shuts the server down (an outage); its streams stay on disk for Restart.
func (s *Server) Stop() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// Restart starts the server again on the same port and storage, after Stop.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.srv = serve(t, s.opts)
}
