package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// env reads an environment variable with a default; flags show the variable in their usage.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// envBool is true when the variable is set to a true value (strconv.ParseBool: 1, t, true, ...).
func envBool(name string) bool {
	b, _ := strconv.ParseBool(os.Getenv(name))
	return b
}

// envBoolOr is the variable's boolean value, def when it is unset or not a boolean.
func envBoolOr(name string, def bool) bool {
	if b, err := strconv.ParseBool(os.Getenv(name)); err == nil {
		return b
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// Demo defaults: a fixed Mercato tenant and organization so repeated demos write to the same scope.
const (
	defaultTenantID = "8f14e45f-ceea-467a-9a36-dedd4bea2543"
	defaultOrgID    = "c9f0f895-fb98-4b91-99f2-3d7b5c2e3f10"
	defaultDBURL    = "postgres://postgres@127.0.0.1:5432/orosync_demo?sslmode=disable"
)

// common holds the settings every long-running command shares.
type common struct {
	natsURL     string
	dataDir     string
	natsPort    int
	databaseURL string
	replicas    int
	logLevel    string
	logFormat   string

	tenant        string
	oroURL        string
	oroClientID   string
	oroSecret     string
	mercatoTenant string
	mercatoOrg    string
	types         string

	conflictPolicy string
	noEmailMatch   bool
	replicaRole    bool
	// applyContracts: orosync run creates what contracts/ defines (--apply-contracts).
	applyContracts bool
	// leasePeriod is the pollers' and reconcilers' lease period (--lease-period).
	leasePeriod time.Duration
}

func (c *common) register(fs *command) {
	fs.urlVar(&c.natsURL, "nats-url", env("OROSYNC_NATS_URL", ""), "NATS server `URL` (JetStream); empty runs an embedded server (OROSYNC_NATS_URL)")
	fs.StringVar(&c.dataDir, "data-dir", env("OROSYNC_DATA_DIR", ".data"), "where the embedded JetStream server stores the streams (OROSYNC_DATA_DIR)")
	fs.IntVar(&c.natsPort, "nats-port", 4333, "client port of the embedded NATS server, for the nats CLI")
	fs.urlVar(&c.databaseURL, "database-url", env("DATABASE_URL", defaultDBURL), "Mercato's PostgreSQL `URL` (DATABASE_URL)")
	fs.IntVar(&c.replicas, "replicas", 0, "stream replicas on a cluster (0 keeps contracts/: 1)")
	fs.StringVar(&c.logLevel, "log-level", env("OROSYNC_LOG_LEVEL", "info"), "debug, info, warn or error (OROSYNC_LOG_LEVEL)")
	c.logFormat = env("OROSYNC_LOG_FORMAT", "text")
	fs.Var(logFormat{&c.logFormat}, "log-format", "log `format`: text (key=value) or json, one object a line (OROSYNC_LOG_FORMAT)")
	fs.StringVar(&c.tenant, "tenant", env("OROSYNC_TENANT", "demo"), "name of this Oro connection, used in subjects (OROSYNC_TENANT)")
	fs.urlVar(&c.oroURL, "oro-url", env("OROSYNC_ORO_URL", ""), "Oro JSON:API base `URL`, e.g. https://crm.example.com/api; empty runs the bundled simulator (OROSYNC_ORO_URL)")
	fs.StringVar(&c.oroClientID, "oro-client-id", env("OROSYNC_ORO_CLIENT_ID", "orosync"), "OAuth2 client id (OROSYNC_ORO_CLIENT_ID)")
	fs.secretVar(&c.oroSecret, "oro-client-secret", env("OROSYNC_ORO_CLIENT_SECRET", ""), "OAuth2 client `secret`; prefer the variable, which a process list does not show (OROSYNC_ORO_CLIENT_SECRET)")
	fs.StringVar(&c.mercatoTenant, "mercato-tenant-id", env("OROSYNC_MERCATO_TENANT_ID", defaultTenantID), "Mercato tenant_id written on every row (OROSYNC_MERCATO_TENANT_ID)")
	fs.StringVar(&c.mercatoOrg, "mercato-organization-id", env("OROSYNC_MERCATO_ORGANIZATION_ID", defaultOrgID), "Mercato organization_id written on every row (OROSYNC_MERCATO_ORGANIZATION_ID)")
	fs.StringVar(&c.conflictPolicy, "conflict-policy", env("OROSYNC_CONFLICT_POLICY", "oro-wins"), "when both sides changed: oro-wins, mercato-wins, last-write-wins or merge, or per aggregate/field: customers.person=merge,customers.person.jobTitle=mercato-wins (OROSYNC_CONFLICT_POLICY)")
	fs.BoolVar(&c.noEmailMatch, "no-email-match", false, "do not link a new Oro record to an existing Mercato person with the same email")
	fs.BoolVar(&c.replicaRole, "writer-replication-role", envBool("OROSYNC_WRITER_REPLICATION_ROLE"), "the writer applies as a replication session (session_replication_role = replica): no triggers or foreign-key checks on its rows; for initial imports and replays, needs a role allowed to set it (OROSYNC_WRITER_REPLICATION_ROLE)")
	fs.StringVar(&c.types, "types", env("OROSYNC_TYPES", strings.Join(supportedTypes(), ",")), "comma-separated Oro types to sync (OROSYNC_TYPES)")
}

func (c *common) scope() (tenantID, orgID uuid.UUID, err error) {
	if tenantID, err = uuid.Parse(c.mercatoTenant); err != nil {
		return tenantID, orgID, fmt.Errorf("--mercato-tenant-id %q: %w", c.mercatoTenant, err)
	}
	if orgID, err = uuid.Parse(c.mercatoOrg); err != nil {
		return tenantID, orgID, fmt.Errorf("--mercato-organization-id %q: %w", c.mercatoOrg, err)
	}
	return tenantID, orgID, nil
}

// supportedTypes are the Oro types the shipped mapping maps, in the order status and the demo list them: users
// and business units (owners), companies, people, then what refers to them.
func supportedTypes() []string {
	return []string{"users", "businessunits", "accounts", "b2bcustomers", "contacts", "leads", "opportunities", "cases",
		"tasks", "calls", "emails", "notes"}
}

func (c *common) typeList() []string {
	var out []string
	for _, t := range strings.Split(c.types, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// logFormat is --log-format: text or json, anything else refused.
type logFormat struct{ p *string }

func (f logFormat) String() string {
	if f.p == nil {
		return ""
	}
	return *f.p
}

func (f logFormat) Set(v string) error {
	if v != "text" && v != "json" {
		return fmt.Errorf("%q: want text or json", v)
	}
	*f.p = v
	return nil
}

// logger logs to w at --log-level in --log-format (an OROSYNC_LOG_FORMAT other than json is text, said once).
func (c *common) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	log := slog.New(slog.NewTextHandler(w, opts))
	if c.logFormat != "text" && c.logFormat != "" {
		log.Warn("unknown log format: logging text", "log_format", c.logFormat)
	}
	return log
}
