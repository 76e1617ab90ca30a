package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb"
	poller "github.com/orosync/orosync/services/poller/service"
)

// typeStatus is one line of `orosync status`.
type typeStatus struct {
	Tenant, Type     string
	Seen             int    // distinct records in ORO_RAW
	Versions         uint64 // messages in ORO_RAW (versions and tombstones)
	Applied, Deleted int    // live and soft-deleted records in Mercato
	// UnmatchedOwners are the records whose Oro owner (or author, or user target) no Mercato user of the tenant matches.
	UnmatchedOwners int
	Cursor          string
	Lag             uint64 // messages waiting in the transformer and writer
	DeadLetters     uint64
	// LastDeadLetter is the newest dead letter of the type: stage, rule and reason.
	LastDeadLetter string       `json:",omitempty"`
	Poller         pollerStatus // strategy, why, run progress and ETA
}

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newCommand("status", `orosync status [flags]

Per tenant and Oro type: the poller's strategy and progress, records seen and versions in ORO_RAW, records
applied and deleted in Mercato, records whose Oro owner (author, user target) matches no Mercato user, cursor, lag and dead letters; then the Oro budget and the reconciler's state.
Without --nats-url it reads the embedded server's streams from --data-dir.`, stdout, stderr)
	c.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	cfgFile := fs.String("config", env("OROSYNC_CONFIG", ""), "tenants file of `orosync run --config`: show every tenant (OROSYNC_CONFIG)")
	if err := fs.parse(args); err != nil {
		return err
	}
	natsURL := c.natsURL
	if natsURL == "" {
		// Read the embedded server's streams from its data directory (the demo's, by default).
		srv, url, err := embeddedNATS(c.dataDir, -1)
		if err != nil {
			return err
		}
		defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
		natsURL = url
	}
	tenants, err := statusTenants(&c, *cfgFile)
	if err != nil {
		return err
	}
	var rows []typeStatus
	for _, t := range tenants {
		r, err := status(ctx, natsURL, c.databaseURL, t.Name, t.Types, t.Scope.TenantID, t.Scope.OrganizationID)
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tTYPE\tSTRATEGY\tPROGRESS\tSEEN\tVERSIONS\tAPPLIED\tDELETED\tUNMATCHED OWNERS\tCURSOR\tLAG\tDEAD LETTERS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t%d\n", r.Tenant, r.Type, strategyColumn(r.Poller), progressColumn(r.Poller),
			r.Seen, r.Versions, r.Applied, r.Deleted, r.UnmatchedOwners, r.Cursor, r.Lag, r.DeadLetters)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printStrategyReasons(stdout, rows)
	printLastDeadLetters(stdout, rows)
	for _, t := range tenants {
		if err := printBudgetState(ctx, stdout, natsURL, t.Name); err != nil {
			return err
		}
		if err := printReconcilerState(ctx, stdout, natsURL, t.Name); err != nil {
			return err
		}
	}
	return nil
}

func status(ctx context.Context, natsURL, databaseURL, tenant string, types []string, tid, oid uuid.UUID) ([]typeStatus, error) {
	js, closeNC, err := connectJS(natsURL, "orosync-status")
	if err != nil {
		return nil, err
	}
	defer closeNC()
	db, err := mercatodb.OpenDB(databaseURL)
	if err != nil {
		return nil, err
	}
	defer func() { _ = db.Close() }()
	raw, err := js.Stream(ctx, events.StreamOroRaw)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", events.StreamOroRaw, err)
	}
	kv, err := js.KeyValue(ctx, "OROSYNC_CURSORS")
	if err != nil {
		return nil, err
	}
	var lag uint64
	for _, c := range [][2]string{{events.StreamOroRaw, "transformer"}, {events.StreamMercatoChanges, "writer"}} {
		if cons, err := js.Consumer(ctx, c[0], c[1]); err == nil {
			if info, err := cons.Info(ctx); err == nil {
				lag += info.NumPending + uint64(info.NumAckPending)
			}
		}
	}
	var out []typeStatus
	for _, typ := range types {
		s := typeStatus{Tenant: tenant, Type: typ, Lag: lag, Cursor: "-", Poller: poller.State(ctx, kv, tenant, typ)}
		info, err := raw.Info(ctx, jetstream.WithSubjectFilter(events.RawFilter(tenant, typ)))
		if err != nil {
			return nil, err
		}
		s.Seen = len(info.State.Subjects)
		for _, n := range info.State.Subjects {
			s.Versions += n
		}
		if cur, ok, err := poller.Cursor(ctx, kv, tenant, typ); err != nil {
			return nil, err
		} else if ok {
			s.Cursor = cur
		}
		err = db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL)
FROM orosync_records WHERE tenant_id = $1 AND organization_id = $2 AND source_type = $3`, tid, oid, typ).Scan(&s.Applied, &s.Deleted)
		if err != nil && !strings.Contains(err.Error(), "does not exist") {
			return nil, fmt.Errorf("counting applied %s: %w", typ, err)
		}
		if s.UnmatchedOwners, err = unmatchedOwners(ctx, db, tid, oid, typ); err != nil {
			return nil, err
		}
		if dlq, err := js.Stream(ctx, events.StreamDeadLetter); err == nil {
			filter := "orosync.dlq.*." + tenant + "." + typ + ".*"
			if di, err := dlq.Info(ctx, jetstream.WithSubjectFilter(filter)); err == nil {
				for _, n := range di.State.Subjects {
					s.DeadLetters += n
				}
			}
			if s.DeadLetters > 0 {
				s.LastDeadLetter = lastDeadLetter(ctx, dlq, filter)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// lastDeadLetter describes the newest dead letter on filter: stage, rule and reason.
func lastDeadLetter(ctx context.Context, dlq jetstream.Stream, filter string) string {
	m, err := dlq.GetLastMsgForSubject(ctx, filter)
	if err != nil {
		return ""
	}
	var d events.DeadLetter
	if err := json.Unmarshal(m.Data, &d); err != nil {
		return ""
	}
	what := d.Stage
	if d.Rule != "" {
		what += ", " + d.Rule
	}
	return fmt.Sprintf("%s (%s): %s", d.FailedAt.Format(time.RFC3339), what, d.Reason)
}

// printLastDeadLetters lists the newest dead letter of every type that has some (all of them: nats stream view
// OROSYNC_DLQ --subject 'orosync.dlq.*.<tenant>.<type>.>').
func printLastDeadLetters(w io.Writer, rows []typeStatus) {
	for _, r := range rows {
		if r.LastDeadLetter != "" {
			fmt.Fprintf(w, "%s/%s: last dead letter %s\n", r.Tenant, r.Type, r.LastDeadLetter)
		}
	}
}

// unmatchedOwners counts the records of an Oro type whose owner (author, user target) no Mercato user matches: the writer parks their
// reference to the Oro user (or business unit) until one does.
func unmatchedOwners(ctx context.Context, db *sql.DB, tid, oid uuid.UUID, typ string) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(DISTINCT owner_source_id) FROM orosync_waiting_refs
WHERE tenant_id = $1 AND organization_id = $2 AND owner_source_type = $3 AND target_source_type IN ('users', 'businessunits')`,
		tid, oid, typ).Scan(&n)
	if err != nil && !strings.Contains(err.Error(), "does not exist") {
		return 0, fmt.Errorf("counting unmatched owners of %s: %w", typ, err)
	}
	return n, nil
}
