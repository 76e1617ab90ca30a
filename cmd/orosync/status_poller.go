package main

import (
	"fmt"
	"io"
	"time"

	poller "github.com/orosync/orosync/services/poller/service"
	writer "github.com/orosync/orosync/services/writer/service"
)

// pollerStatus is what the poller keeps about one type (poller.State): its strategy and why, its progress, its
// cursor.
type pollerStatus = poller.TypeState

// strategyColumn is the STRATEGY cell: "keyset", "audit-log+webhooks", "-".
func strategyColumn(s pollerStatus) string {
	switch {
	case s.Strategy == "":
		return "-"
	case s.Webhooks:
		return s.Strategy + "+webhooks"
	}
	return s.Strategy
}

// progressColumn is the PROGRESS cell: "caught up", "41,000/100,000 41% ETA 2m10s", "-".
func progressColumn(s pollerStatus) string {
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
			fmt.Fprintf(w, "%s/%s: %s — %s\n", r.Tenant, r.Type, strategyColumn(r.Poller), r.Poller.Reason)
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
