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

// serveWebhooks receives Oro's webhooks on OROSYNC_WEBHOOK_ADDR (e.g. ":8089", path /webhooks/<tenant>), each
// tenant's verified with its own secret, until ctx is done. Without an address it does nothing: polling alone keeps
// the sync.
func (p pipeline) serveWebhooks(ctx context.Context) error {
	addr := env("OROSYNC_WEBHOOK_ADDR", "")
	if addr == "" {
		return nil
	}
	conns, err := p.webhookConnections(env("OROSYNC_WEBHOOK_SECRET", ""))
	if err != nil {
		return err
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
	js, err := jetstream.New(nc.Conn, jetstream.WithPublishAsyncTimeout(natsconn.PublishAckTimeout))
	if err != nil {
		return err
	}
	receiver, err := poller.NewWebhookReceiver(ctx, nc.Conn, js, conns, log.With("service", "webhooks"), p.Tracer)
	if err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/{tenant}", receiver)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("webhooks: listen on %s: %w", addr, err)
	}
	srv := p.HTTPTimeouts.orDefault().server(mux)
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

// webhookConnections is every tenant that receives webhooks, with its own secret and types: the tenants file's
// webhook.secretEnv, or for the single connection of the flags OROSYNC_WEBHOOK_SECRET (single). A secret never
// serves another tenant: with a tenants file OROSYNC_WEBHOOK_SECRET is refused, and two tenants with one secret are.
func (p pipeline) webhookConnections(single string) (map[string]poller.WebhookConnection, error) {
	out := map[string]poller.WebhookConnection{}
	owner := map[string]string{} // secret → tenant
	for _, c := range p.connections() {
		secret := c.WebhookSecret
		if len(p.Tenants) == 0 {
			secret = single
		}
		if secret == "" {
			continue // no webhooks for this tenant: its deliveries are refused as unsigned
		}
		if other, dup := owner[secret]; dup {
			return nil, fmt.Errorf("webhooks: tenants %s and %s have the same webhook secret: each must have its own, or one's "+
				"Oro could post as the other", other, c.Name)
		}
		owner[secret] = c.Name
		out[c.Name] = poller.WebhookConnection{Secret: secret, Types: c.Types}
	}
	switch {
	case len(p.Tenants) > 0 && single != "":
		return nil, errors.New("webhooks: OROSYNC_WEBHOOK_SECRET is the secret of the one connection the flags configure; " +
			"with a tenants file each tenant names its own (webhook.secretEnv)")
	case len(out) == 0:
		return nil, errors.New("webhooks: OROSYNC_WEBHOOK_ADDR is set but no tenant has a webhook secret " +
			"(OROSYNC_WEBHOOK_SECRET, or webhook.secretEnv in the tenants config): no delivery could be verified")
	}
	return out, nil
}
