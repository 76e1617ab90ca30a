package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/orosync/orosync/events/redact"
	"github.com/orosync/orosync/oro"
	poller "github.com/orosync/orosync/services/poller/service"
)

// connCheck is one line of `orosync config check`: a check of one connection, passed or not, and why.
type connCheck struct {
	Connection string `json:"connection"`
	Check      string `json:"check"`
	OK         bool   `json:"ok"`
	Detail     string `json:"detail"`
}

// checkConfig is what the checks test: the connections and services `orosync run` would run with.
type checkConfig struct {
	NatsURL     string // empty: orosync run starts an embedded server, nothing to check
	DatabaseURL string
	Connections []connection
	Services    services // nil: every service
	Timeout     time.Duration
}

// checkConnections tests each connection as orosync run would use it: an OAuth2 token, one read per type, the
// capabilities the poller finds, the Mercato scope's tenant and organization, and what the services may do on
// NATS. Every check runs (a failure does not hide the others), with the token's failure skipping the reads.
func checkConnections(ctx context.Context, cfg checkConfig) []connCheck {
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	var out []connCheck
	for _, c := range cfg.Connections {
		if cfg.Services.needsOro() {
			out = append(out, checkOro(ctx, c, cfg.Timeout)...)
		}
		if cfg.Services.has(svcWriter) || cfg.Services.has(svcReconciler) {
			out = append(out, checkScope(ctx, c, cfg.DatabaseURL, cfg.Timeout))
		}
		out = append(out, checkNATS(ctx, c, cfg.NatsURL, cfg.Services, cfg.Timeout)...)
	}
	return out
}

// checkOro is the token, read and capabilities checks of connection c.
func checkOro(ctx context.Context, c connection, timeout time.Duration) []connCheck {
	line := func(check string, err error, detail string) connCheck {
		if err != nil {
			return connCheck{Connection: c.Name, Check: check, Detail: err.Error()}
		}
		return connCheck{Connection: c.Name, Check: check, OK: true, Detail: detail}
	}
	if c.Oro.BaseURL == "" {
		return []connCheck{line("oro", nil, "no --oro-url: orosync run starts the bundled simulator")}
	}
	cfg := c.Oro
	cfg.Budget = nil                       // a few requests of its own, not the connection's shared budget
	cfg.Backoff = oro.Backoff{Attempts: 2} // an answer now, not after minutes of retries
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := poller.CheckConnection(ctx, poller.Tenant{Oro: cfg, Types: c.Types, WebhookURL: c.WebhookURL}, 0)
	if err != nil {
		return []connCheck{line("oro token", err, "")}
	}
	out := []connCheck{line("oro token", res.TokenErr, "OAuth2 token for client "+c.Oro.ClientID+" from "+redact.URL(tokenURL(c.Oro)))}
	for _, t := range res.Types {
		out = append(out, line("read "+t.Type, t.ReadErr, fmt.Sprintf("%d record read (page size 1)", t.Read)))
		out = append(out, line("capabilities "+t.Type, t.ProbeErr, t.Strategy+" ("+t.Reason+"); "+t.Capabilities))
	}
	return out
}

func tokenURL(c oro.Config) string {
	if c.TokenURL != "" {
		return c.TokenURL
	}
	if i := strings.Index(c.BaseURL, "://"); i >= 0 {
		if j := strings.IndexByte(c.BaseURL[i+3:], '/'); j >= 0 {
			return c.BaseURL[:i+3+j] + "/oauth2-token"
		}
	}
	return c.BaseURL + "/oauth2-token"
}

// checkScope says whether c's Mercato tenant and organization exist (Open Mercato's directory tables).
func checkScope(ctx context.Context, c connection, databaseURL string, timeout time.Duration) connCheck {
	out := connCheck{Connection: c.Name, Check: "mercato scope"}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	db, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		out.Detail = fmt.Sprintf("connecting to %s: %s", redact.URL(databaseURL), redact.URL(err.Error()))
		return out
	}
	defer func() { _ = db.Close(context.WithoutCancel(ctx)) }()
	tid, oid := c.Scope.TenantID, c.Scope.OrganizationID
	var tenant, org, orgOfTenant bool
	err = db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1 AND deleted_at IS NULL),
  EXISTS (SELECT 1 FROM organizations WHERE id = $2 AND deleted_at IS NULL),
  EXISTS (SELECT 1 FROM organizations WHERE id = $2 AND tenant_id = $1 AND deleted_at IS NULL)`, tid, oid).Scan(&tenant, &org, &orgOfTenant)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "42P01":
		out.Detail = "the database has no tenants and organizations tables (Open Mercato's directory module): " + pgErr.Message
	case err != nil:
		out.Detail = fmt.Sprintf("reading tenants and organizations: %v", err)
	case !tenant:
		out.Detail = fmt.Sprintf("Mercato has no tenant %s", tid)
	case !org:
		out.Detail = fmt.Sprintf("Mercato has no organization %s", oid)
	case !orgOfTenant:
		out.Detail = fmt.Sprintf("organization %s is not tenant %s's", oid, tid)
	default:
		out.OK, out.Detail = true, fmt.Sprintf("tenant %s, organization %s", tid, oid)
	}
	return out
}

func cmdConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "Usage:\n  orosync config check [flags]   test each connection: token, one read per type, capabilities, Mercato scope, NATS permissions\n\n\"orosync config check -h\" prints the flags.\n"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, usage)
		return flag.ErrHelp
	}
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 {
			fmt.Fprintf(stderr, "unknown config command %q\n\n", args[0])
		}
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	var c common
	fs := newCommand("config check", `orosync config check [flags]

Tests each connection with the configuration orosync run would use (the same flags, variables and tenants file):
an OAuth2 token, one read of each type (page size 1), the capabilities the poller finds (page size, updatedAt
filter and sort, audit log, webhooks) and the strategy they give, the Mercato tenant and organization, and that the
NATS user of the URL may do what the services need (--services). One line per check; exit 1 when any fails.`, stdout, stderr)
	c.register(fs)
	cfgFile := fs.String("config", env("OROSYNC_CONFIG", ""), "tenants file (YAML or JSON) with several Oro connections; replaces the single-connection flags (OROSYNC_CONFIG)")
	svcList := fs.String("services", env("OROSYNC_SERVICES", "all"), "the services whose needs are checked, comma-separated: poller, transformer, writer, reconciler (OROSYNC_SERVICES)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long each connection's Oro, database and NATS checks may take")
	if err := fs.parse(args[1:]); err != nil {
		return err
	}
	svcs, err := parseServices(*svcList)
	if err != nil {
		return err
	}
	conns, err := checkedConnections(&c, *cfgFile)
	if err != nil {
		return err
	}
	checks := checkConnections(ctx, checkConfig{NatsURL: c.natsURL, DatabaseURL: c.databaseURL, Connections: conns,
		Services: svcs, Timeout: *timeout})
	return printChecks(stdout, checks)
}

// checkedConnections are the connections of the tenants file, or the one the flags give.
func checkedConnections(c *common, cfgFile string) ([]connection, error) {
	if cfgFile != "" {
		return loadTenants(cfgFile, os.LookupEnv, nil)
	}
	tid, oid, err := c.scope()
	if err != nil {
		return nil, err
	}
	conn := connection{Name: c.tenant, Types: c.typeList(), WebhookURL: env("OROSYNC_WEBHOOK_URL", ""),
		Oro: oro.Config{BaseURL: c.oroURL, ClientID: c.oroClientID, ClientSecret: c.oroSecret, UserAgent: "orosync"}}
	conn.Scope.TenantID, conn.Scope.OrganizationID = tid, oid
	return []connection{conn}, nil
}

// printChecks prints one line per check and fails when one did.
func printChecks(w io.Writer, checks []connCheck) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	failed := 0
	for _, c := range checks {
		mark := "ok"
		if !c.OK {
			mark, failed = "FAIL", failed+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Connection, c.Check, mark, strings.Join(strings.Fields(c.Detail), " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(checks))
	}
	return nil
}
