package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/natsconn"
	poller "github.com/orosync/orosync/services/poller/service"
)

// serveWebhooks receives Oro's webhooks on OROSYNC_WEBHOOK_ADDR (e.g. ":8089", path /webhooks/<tenant>), verified
// with OROSYNC_WEBHOOK_SECRET, until ctx is done. Without an address it does nothing: polling alone keeps the sync.
func (p pipeline) serveWebhooks(ctx context.Context) error {
	addr, secret := env("OROSYNC_WEBHOOK_ADDR", ""), env("OROSYNC_WEBHOOK_SECRET", "")
	if addr == "" {
		return nil
	}
	if len(p.webhookSecrets(secret)) < len(p.connections()) {
		return errors.New("OROSYNC_WEBHOOK_ADDR is set but a tenant has no webhook secret (OROSYNC_WEBHOOK_SECRET, or webhook.secretEnv in the tenants config): its deliveries could not be verified")
	}
	log := p.Log
	if log == nil {
		log = slog.Default()
	}
	nc, err := natsconn.Connect(p.NatsURL, "orosync-webhooks", log, p.NatsOptions...)
	if err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	defer nc.Close()
	ctx, unguard := nc.Guard(ctx)
	defer unguard()
	js, err := jetstream.New(nc.Conn)
	if err != nil {
		return err
	}
	receiver, err := poller.NewWebhookReceiver(ctx, nc.Conn, js, p.webhookSecrets(secret), log.With("service", "webhooks"))
	if err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/{tenant}", receiver)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("webhooks: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("receiving Oro webhooks", "addr", ln.Addr().String(), "path", "/webhooks/{tenant}")
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return natsconn.Cause(ctx) // a closed connection ends the process non-zero
}
