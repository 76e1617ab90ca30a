package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.opentelemetry.io/otel/trace"

	"github.com/orosync/orosync/contracts/coord"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/events/redact"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
	writer "github.com/orosync/orosync/services/writer/service"
)

// env is what a long-running command sets up: NATS (embedded or remote), Oro (real or simulated).
type runtime struct {
	nats    *server.Server
	natsURL string
	sim     *orosim.Server
	simURL  string
	closers []func()
	oro     oro.Config
	metrics metricsSet
	keys    writer.EncryptionKeys
	tracer  trace.TracerProvider
}

func (r *runtime) Close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// setup starts what the flags ask for; simContacts > 0 seeds the bundled simulator when no Oro URL is given.
func setup(ctx context.Context, c *common, simContacts int, log *slog.Logger) (*runtime, error) {
	r := &runtime{natsURL: c.natsURL}
	var err error
	if r.keys, err = encryptionKeys(log); err != nil {
		return nil, err // before anything starts: a set-up orosync cannot follow is refused at once
	}
	if r.natsURL == "" {
		srv, url, err := embeddedNATS(c.dataDir, c.natsPort)
		if err != nil {
			return nil, err
		}
		r.nats, r.natsURL = srv, url
		r.closers = append(r.closers, func() { srv.Shutdown(); srv.WaitForShutdown() })
	}
	r.oro = oro.Config{BaseURL: c.oroURL, ClientID: c.oroClientID, ClientSecret: c.oroSecret, UserAgent: "orosync"}
	metrics, stopMetrics, err := newMetricsServer(httpTimeouts{})
	if err != nil {
		r.Close()
		return nil, err
	}
	r.metrics = metrics
	r.closers = append(r.closers, stopMetrics)
	tp, stopTracing, err := osTracerProvider(ctx, os.Stdout)
	if err != nil {
		r.Close()
		return nil, err
	}
	r.tracer = tp
	r.closers = append(r.closers, stopTracing)
	perMinute, err := budgetPerMinute()
	if err != nil {
		r.Close()
		return nil, err
	}
	r.oro.Budget = oro.NewCatchUpBudget(c.tenant, perMinute, metrics.oro) // the poller's and the reconciler's
	if c.oroURL == "" && simContacts > 0 {
		if r.oro.ClientSecret == "" {
			r.oro.ClientSecret = randomSecret()
		}
		sim, url, stop, err := startSim(ctx, "127.0.0.1:0", orosim.Config{ClientID: r.oro.ClientID, ClientSecret: r.oro.ClientSecret,
			Counts: orosim.CRMCounts(simContacts), Seed: 1, Logger: log.With("service", "orosim")}, simTimeouts())
		if err != nil {
			r.Close()
			return nil, err
		}
		r.sim, r.simURL = sim, url
		r.oro.BaseURL = url + "/api"
		r.closers = append(r.closers, stop)
	}
	return r, nil
}

// simTimeouts are the simulator's: its pages can be large (page[size]=-1 lists every record), so a response may take
// minutes to write.
func simTimeouts() httpTimeouts {
	t := httpTimeouts{}.orDefault()
	t.Write = 5 * time.Minute
	return t
}

func startSim(ctx context.Context, addr string, cfg orosim.Config, timeouts httpTimeouts) (*orosim.Server, string, func(), error) {
	sim := orosim.New(cfg)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", nil, fmt.Errorf("simulator: listen on %s: %w", addr, err)
	}
	srv := timeouts.server(sim)
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	return sim, "http://" + ln.Addr().String(), stop, nil
}

func randomSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *common) pipeline(r *runtime, log *slog.Logger) (pipeline, error) {
	tid, oid, err := c.scope()
	if err != nil {
		return pipeline{}, err
	}
	rules, err := parseRules(c.conflictPolicy)
	if err != nil {
		return pipeline{}, err
	}
	scope := writer.Scope{TenantID: tid, OrganizationID: oid, Pepper: r.keys.Pepper}
	if scope.DEK, err = r.keys.TenantDEK(tid.String()); err != nil {
		return pipeline{}, err
	}
	return pipeline{NatsURL: r.natsURL, DatabaseURL: c.databaseURL, Tenant: c.tenant, Oro: r.oro, Types: c.typeList(),
		Scope: scope, Replicas: c.replicas, Log: log, Rules: rules, NoEmailMatch: c.noEmailMatch,
		WriterReplicationRole: c.replicaRole, PollerMetrics: r.metrics.poller, WriterMetrics: r.metrics.writer,
		TransformerMetrics: r.metrics.transf, ReconcilerRegisterer: r.metrics.reg, Tracer: r.tracer}, nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newCommand("run", `orosync run [flags]

Runs the poller (with the webhook receiver), transformer, writer and reconciler in one process, or with
--services some of them, until interrupted. Without --oro-url it starts the bundled Oro simulator, without
--nats-url an embedded NATS server.`, stdout, stderr)
	c.register(fs)
	withMercato := fs.Bool("with-mercato-schema", false, "also create Open Mercato's tables (dev/test databases only)")
	simContacts := fs.Int("sim-contacts", 5000, "contacts in the bundled simulator, with the rest of a CRM of that size (when --oro-url is empty)")
	pollEvery := fs.Duration("poll-interval", envDuration("OROSYNC_POLL_INTERVAL", 10*time.Second), "delay between polls once caught up (OROSYNC_POLL_INTERVAL)")
	reconcileEvery := fs.Duration("reconcile-interval", envDuration("OROSYNC_RECONCILE_INTERVAL", 15*time.Minute), "delay between reconcile passes (OROSYNC_RECONCILE_INTERVAL)")
	cfgFile := fs.String("config", env("OROSYNC_CONFIG", ""), "tenants file (YAML or JSON) with several Oro connections; replaces the single-connection flags (OROSYNC_CONFIG)")
	fs.BoolVar(&c.applyContracts, "apply-contracts", envBoolOr("OROSYNC_APPLY_CONTRACTS", true), "create the streams, consumers and buckets contracts/ defines when missing; false when the process connects as a service's NATS user, which may not (an admin applies them with orosync migrate --nats-url) (OROSYNC_APPLY_CONTRACTS)")
	fs.DurationVar(&c.leasePeriod, "lease-period", envDuration("OROSYNC_LEASE_PERIOD", coord.DefaultLeasePeriod), "of several pollers (reconcilers) of a connection one polls (reconciles); another takes over within this `period` when it stops (OROSYNC_LEASE_PERIOD)")
	svcList := fs.String("services", env("OROSYNC_SERVICES", "all"), "the services this process runs, comma-separated: poller (with the webhook receiver), transformer, writer, reconciler; one process per service scales them apart on a cluster (OROSYNC_SERVICES)")
	var ops opsFlags
	ops.register(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := ops.check(); err != nil {
		return err
	}
	svcs, err := parseServices(*svcList)
	if err != nil {
		return err
	}
	if *cfgFile != "" {
		return runTenants(ctx, &c, *cfgFile, svcs, ops, *pollEvery, *reconcileEvery, *withMercato, stdout, stderr)
	}
	log := c.logger(stderr)
	if !svcs.needsOro() {
		*simContacts = 0 // nothing here talks to Oro: no simulator
	}
	r, err := setup(ctx, &c, *simContacts, log)
	if err != nil {
		return err
	}
	defer r.Close()
	if r.sim != nil {
		fmt.Fprintf(stdout, "Oro simulator at %s (client id %s)\n", r.simURL, r.oro.ClientID)
	}
	if r.nats != nil {
		fmt.Fprintf(stdout, "Embedded NATS at %s, streams under %s\n", r.natsURL, r.nats.JetStreamConfig().StoreDir)
	}
	if err := prepare(ctx, r.natsURL, c.databaseURL, c.replicas, c.applyContracts, *withMercato, log); err != nil {
		return err
	}
	budgets := map[string]*oro.Budget{c.tenant: r.oro.Budget}
	if svcs.needsOro() {
		unshare, err := shareBudgets(ctx, r.natsURL, budgets, log)
		if err != nil {
			return err
		}
		defer unshare()
	}
	unwatch, err := r.metrics.health.watchDependencies(ctx, r.natsURL, c.databaseURL, svcs, budgets, log)
	if err != nil {
		return err
	}
	defer unwatch()
	p, err := c.pipeline(r, log)
	if err != nil {
		return err
	}
	p.PollInterval, p.ReconcileInterval, p.Services, p.LeasePeriod = *pollEvery, *reconcileEvery, svcs, c.leasePeriod
	stopOps, err := startOpsPage(ctx, ops, r.natsURL, c.databaseURL, p.connections(), svcs, log)
	if err != nil {
		return err
	}
	defer stopOps()
	log.Info("orosync running", "tenant", c.tenant, "types", c.typeList(), "oro", r.oro, "services", svcs)
	return p.Run(ctx)
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommand("migrate", `orosync migrate [flags]

Creates or upgrades orosync's own tables (orosync_*) on the database; with --with-mercato-schema also Open
Mercato's tables, for a development or test database; with --nats-url also the streams, consumers and buckets
contracts/ defines (the services' own NATS users may not create them).`, stdout, stderr)
	dbURL := fs.url("database-url", env("DATABASE_URL", defaultDBURL), "Mercato's PostgreSQL `URL` (DATABASE_URL)")
	withMercato := fs.Bool("with-mercato-schema", false, "also create Open Mercato's own tables, as its migrations define them: dev/test databases only")
	var natsURL string
	fs.urlVar(&natsURL, "nats-url", env("OROSYNC_NATS_ADMIN_URL", ""), "also create the streams, consumers and buckets contracts/ defines on this NATS `URL`, as a user allowed to (admin) (OROSYNC_NATS_ADMIN_URL)")
	replicas := fs.Int("replicas", 0, "with --nats-url: stream and bucket replicas (3 on a 3-node cluster; 0 keeps contracts/: 1)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := prepare(ctx, natsURL, *dbURL, *replicas, natsURL != "", *withMercato, slog.Default()); err != nil {
		return err
	}
	if natsURL != "" {
		fmt.Fprintf(stdout, "NATS at %s has the streams, consumers and buckets of contracts/.\n", redact.URL(natsURL))
	}
	if *withMercato {
		fmt.Fprintln(stdout, "Open Mercato's tables and orosync's tables are up to date.")
	} else {
		fmt.Fprintln(stdout, "orosync's tables (orosync_*) are up to date; Mercato's tables were not touched.")
	}
	return nil
}

func cmdSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommand("sim", `orosync sim [flags]

Runs the Oro simulator alone until interrupted and prints its base URL and client credentials.`, stdout, stderr)
	addr := fs.String("addr", env("OROSIM_ADDR", "127.0.0.1:8088"), "listen `address` (OROSIM_ADDR)")
	contacts := fs.Int("contacts", 5000, "seeded contacts; the other types follow at the ratios of a real CRM (see --counts)")
	seed := fs.Int64("seed", 1, "seed of the deterministic data")
	clientID := fs.String("client-id", "orosync", "OAuth2 client id accepted")
	var secret string
	fs.secretVar(&secret, "client-secret", env("OROSIM_CLIENT_SECRET", ""), "OAuth2 client `secret` accepted; random (and printed) when empty (OROSIM_CLIENT_SECRET)")
	maxEntities := fs.Int("max-entities", 0, "Oro's max_entities (0 = unlimited)")
	counts := fs.String("counts", "", "seeded records of other types instead of those of a real CRM with --contacts contacts (per 5,000: accounts=500,b2bcustomers=100,leads=600,opportunities=800,cases=100,tasks=2000,calls=1500,notes=1500,emails=2000,contactaddresses=5000,users=20,businessunits=3); e.g. tasks=0,calls=0")
	faults := fs.String("faults", env("OROSIM_FAULTS", ""), `faults from the start, as the JSON of PUT /__admin/faults, e.g. {"rateLimitPerMinute":100,"errorRate":0.05} (OROSIM_FAULTS)`)
	if err := fs.parse(args); err != nil {
		return err
	}
	shownSecret := "(as given)"
	if secret == "" {
		secret = randomSecret()
		shownSecret = secret
	}
	cfg := orosim.Config{ClientID: *clientID, ClientSecret: secret, Counts: orosim.CRMCounts(*contacts), Seed: *seed, MaxEntities: *maxEntities}
	if *counts != "" {
		for _, part := range strings.Split(*counts, ",") {
			typ, n, ok := strings.Cut(strings.TrimSpace(part), "=")
			v, err := strconv.Atoi(n)
			if !ok || err != nil || v < 0 {
				return fmt.Errorf("--counts: %q is not type=count", part)
			}
			cfg.Counts[typ] = v
		}
	}
	if *faults != "" {
		if err := json.Unmarshal([]byte(*faults), &cfg.Faults); err != nil {
			return fmt.Errorf("--faults: %w", err)
		}
	}
	sim, url, stop, err := startSim(ctx, *addr, cfg, simTimeouts())
	if err != nil {
		return err
	}
	defer stop()
	var seeded []string
	for _, typ := range append(supportedTypes(), "contactaddresses", "leadaddresses", "addresses") {
		seeded = append(seeded, fmt.Sprintf("%d %s", sim.Count(typ), typ))
	}
	fmt.Fprintf(stdout, "Oro simulator with %s\n  base URL:      %s/api\n  token URL:     %s/oauth2-token\n  client id:     %s\n  client secret: %s\n  admin:         PATCH/DELETE %s/__admin/contacts/{id}\nCtrl-C to stop.\n",
		strings.Join(seeded, ", "), url, url, *clientID, shownSecret, url)
	<-ctx.Done()
	return nil
}

// parseRules reads --conflict-policy: one policy for everything ("merge"), or a comma list of
// aggregate=policy and aggregate.field=policy ("customers.person=merge,customers.person.jobTitle=mercato-wins").
func parseRules(spec string) (writer.Rules, error) {
	rules := writer.Rules{}
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return rules, nil
	}
	if !strings.Contains(spec, "=") {
		p, err := writer.ParsePolicy(spec)
		if err != nil {
			return nil, fmt.Errorf("--conflict-policy: %w", err)
		}
		for _, agg := range []string{events.AggregatePerson, events.AggregateCompany, events.AggregateDeal,
			events.AggregateInteraction, events.AggregateComment} {
			rules[agg] = writer.Policies{Default: p}
		}
		return rules, nil
	}
	for _, part := range strings.Split(spec, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("--conflict-policy: %q is not aggregate=policy", part)
		}
		p, err := writer.ParsePolicy(val)
		if err != nil {
			return nil, fmt.Errorf("--conflict-policy %s: %w", key, err)
		}
		agg, field := key, ""
		if parts := strings.Split(key, "."); len(parts) == 3 {
			agg, field = parts[0]+"."+parts[1], parts[2]
		} else if len(parts) != 2 {
			return nil, fmt.Errorf("--conflict-policy: %q is neither module.aggregate nor module.aggregate.field", key)
		}
		pol := rules[agg]
		if field == "" {
			pol.Default = p
		} else {
			if pol.Fields == nil {
				pol.Fields = map[string]writer.Policy{}
			}
			pol.Fields[field] = p
		}
		rules[agg] = pol
	}
	return rules, nil
}

// encryptionKeys reads Mercato's tenant data encryption set-up from the environment and says what it means.
func encryptionKeys(log *slog.Logger) (writer.EncryptionKeys, error) {
	keys, err := writer.ReadEncryptionKeys(os.Getenv)
	switch {
	case err != nil:
		return keys, err
	case keys.Off:
		log.Info("TENANT_DATA_ENCRYPTION is off: Mercato's columns are written as plaintext, as Mercato writes them")
	case keys.Secret == "":
		log.Info("no tenant data encryption secret (TENANT_DATA_ENCRYPTION_FALLBACK_KEY, TENANT_DATA_ENCRYPTION_KEY): " +
			"Mercato's columns are written as plaintext, as a Mercato without one writes them")
	default:
		log.Info("encrypting the columns each tenant's encryption_maps list, with tenant keys derived as Mercato derives them",
			"source", keys.Source, "secretFingerprint", keys.Fingerprint())
	}
	return keys, nil
}

// subcommand reads the sub-command of a command with sub-commands (group: "dlq", "conflicts"): its name, synopsis
// and count of positional arguments from argsOf; help prints usage and returns flag.ErrHelp.
func subcommand(group, usage string, argsOf func(string) (string, int, bool), args []string, stdout, stderr io.Writer) (*command, error) {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, usage)
		return nil, flag.ErrHelp
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return nil, errUsage
	}
	synopsis, nargs, ok := argsOf(args[0])
	if !ok {
		fmt.Fprintf(stderr, "unknown %s command %q\n\n%s", group, args[0], usage)
		return nil, errUsage
	}
	fs := newCommand(group+" "+args[0], synopsis, stdout, stderr)
	fs.args = nargs
	return fs, nil
}
