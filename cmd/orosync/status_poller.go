package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/services/poller/adapters"
	"github.com/orosync/orosync/services/poller/domain"
	writer "github.com/orosync/orosync/services/writer/service"
)

// pollerStatus is what the poller keeps about one type next to its cursor: the strategy chosen from the last
// capability probe and why, and the progress of its current (or last) run.
type pollerStatus struct {
	Strategy string               `json:"strategy,omitempty"`
	Webhooks bool                 `json:"webhooks,omitempty"`
	Reason   string               `json:"reason,omitempty"`
	Progress *domain.SyncProgress `json:"progress,omitempty"`
}

func readPollerStatus(ctx context.Context, kv jetstream.KeyValue, tenant, typ string) pollerStatus {
	var s pollerStatus
	if e, err := kv.Get(ctx, adapters.CapabilitiesKey(tenant, typ)); err == nil {
		var p adapters.Probed
		if json.Unmarshal(e.Value(), &p) == nil {
			s.Strategy, s.Webhooks, s.Reason = string(p.Choice.Strategy), p.Choice.Webhooks, p.Choice.Reason
		}
	}
	if e, err := kv.Get(ctx, tenant+"._progress."+typ); err == nil {
		var p domain.SyncProgress
		if json.Unmarshal(e.Value(), &p) == nil {
			s.Progress = &p
		}
	}
	return s
}

// strategyColumn is the STRATEGY cell: "keyset", "audit-log+webhooks", "-".
func (s pollerStatus) strategyColumn() string {
	switch {
	case s.Strategy == "":
		return "-"
	case s.Webhooks:
		return s.Strategy + "+webhooks"
	}
	return s.Strategy
}

// progressColumn is the PROGRESS cell: "caught up", "41,000/100,000 41% ETA 2m10s", "-".
func (s pollerStatus) progressColumn() string {
	p := s.Progress
	switch {
	case p == nil:
		return "-"
	case p.CaughtUp:
		return "caught up"
	case p.Total < 0:
		return fmt.Sprintf("%d read", p.Done)
	}
	out := fmt.Sprintf("%d/%d %.0f%%", p.Done, p.Total, p.Percent())
	if p.ETA > 0 {
		out += " ETA " + p.ETA.Round(time.Second).String()
	}
	return out
}

// printStrategyReasons lists why each type polls the way it does.
func printStrategyReasons(w io.Writer, rows []typeStatus) {
	for _, r := range rows {
		if r.Poller.Reason != "" {
			fmt.Fprintf(w, "%s/%s: %s — %s\n", r.Tenant, r.Type, r.Poller.strategyColumn(), r.Poller.Reason)
		}
	}
}

// statusTenants is what `orosync status` reports on: the tenants file's connections, or the flags' one. Status
// needs no secrets, so the file's secret variables need not be set.
func statusTenants(c *common, cfgFile string) ([]connection, error) {
	if cfgFile != "" {
		return loadTenants(cfgFile, func(string) (string, bool) { return "unused by status", true }, nil)
	}
	tid, oid, err := c.scope()
	if err != nil {
		return nil, err
	}
	return []connection{{Name: c.tenant, Types: c.typeList(), Scope: writer.Scope{TenantID: tid, OrganizationID: oid}}}, nil
}

// cursorText renders a type's cursor as its strategy keeps it: keyset "2026-11-01T09:00:00Z #42", audit log
// "audit log since …", hash scan "scan after id 1200" or "scan idle".
func cursorText(raw []byte) string {
	var c domain.Cursor
	if json.Unmarshal(raw, &c) != nil {
		return "?"
	}
	switch c.Strategy {
	case domain.AuditLog:
		if !c.Baseline {
			return fmt.Sprintf("baseline after id %d", c.ScanID)
		}
		return "audit log since " + c.AuditSince.UTC().Format(time.RFC3339)
	case domain.HashScan:
		if c.ScanID == 0 {
			return "scan idle"
		}
		return fmt.Sprintf("scan after id %d", c.ScanID)
	}
	return fmt.Sprintf("%s #%d", c.UpdatedAt.UTC().Format(time.RFC3339), c.LastID)
}
