package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/services/poller/app"
	"github.com/orosync/orosync/services/poller/domain"
)

// TypeCheck is what `orosync config check` learns of one type of a connection: one record read (page size 1),
// and the capabilities the poller's probe finds, with the strategy they give it.
type TypeCheck struct {
	Type     string
	Read     int   // records the read returned (0 or 1)
	ReadErr  error // the read failed: Oro's answer, or the transport's
	Strategy string
	Reason   string
	// Capabilities sums up the probe: page size, audit log, webhooks (each with Oro's answer when not offered).
	Capabilities string
	ProbeErr     error
}

// ConnectionCheck is a connection's token and types, as `orosync config check` reports them.
type ConnectionCheck struct {
	TokenErr error
	Types    []TypeCheck
}

// CheckConnection fetches an OAuth2 token for t, then for each of its types reads one record and probes what Oro
// offers, as the poller does before it picks a strategy (pageSize: the page size it asks for, 0: its default).
// Nothing is published or cached. Types are not read when the token fails.
func CheckConnection(ctx context.Context, t Tenant, pageSize int) (ConnectionCheck, error) {
	if pageSize == 0 {
		pageSize = 1000
	}
	client, err := oro.New(ctx, t.Oro)
	if err != nil {
		return ConnectionCheck{}, err
	}
	var out ConnectionCheck
	if out.TokenErr = client.CheckToken(ctx); out.TokenErr != nil {
		return out, nil
	}
	prober := app.Prober{Oro: client, PageSize: pageSize, WebhookURL: t.WebhookURL}
	topics, note, topicsErr := prober.WebhookTopics(ctx)
	for _, typ := range t.Types {
		tc := TypeCheck{Type: typ}
		page, err := client.List(ctx, typ, oro.Query{PageSize: 1, NoHateoas: true})
		if err != nil {
			tc.ReadErr = err
		} else {
			tc.Read = len(page.Data)
		}
		if topicsErr != nil {
			tc.ProbeErr = topicsErr
		} else if c, err := prober.Probe(ctx, typ, topics, note); err != nil {
			tc.ProbeErr = err
		} else {
			ch := domain.Choose(c)
			tc.Strategy, tc.Reason, tc.Capabilities = string(ch.Strategy), ch.Reason, summary(c)
		}
		out.Types = append(out.Types, tc)
	}
	return out, nil
}

// summary is what a probe found, in a line.
func summary(c domain.Capabilities) string {
	parts := []string{fmt.Sprintf("page size %d", c.MaxPageSize)}
	switch {
	case !c.Audited:
		parts = append(parts, "audit log: not audited")
	case c.AuditAccess:
		parts = append(parts, "audit log: readable")
	default:
		parts = append(parts, "audit log: "+c.AuditNote)
	}
	if c.Webhooks {
		parts = append(parts, "webhooks: subscribed")
	} else {
		parts = append(parts, "webhooks: "+c.WebhookNote)
	}
	return strings.Join(parts, ", ")
}
