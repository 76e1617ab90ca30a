package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gopkg.in/yaml.v3"

	"github.com/orosync/orosync/oro"
	poller "github.com/orosync/orosync/services/poller/service"
	reconciler "github.com/orosync/orosync/services/reconciler/service"
	transformer "github.com/orosync/orosync/services/transformer/service"
	writer "github.com/orosync/orosync/services/writer/service"
)

// tenantsFile is `orosync run --config FILE`: several Oro connections in one process. YAML or JSON (JSON is
// YAML). Secrets are never written in the file, only the names of the environment variables holding them:
//
//	tenants:
//	  - name: acme                      # used in subjects and keys: letters, digits, - and _
//	    oro:
//	      baseUrl: https://crm.acme.example/api
//	      clientId: orosync
//	      clientSecretEnv: ACME_ORO_CLIENT_SECRET
//	    types: [contacts, accounts, opportunities]
//	    budgetPerMinute: 100            # the connection's, shared by its pollers and reconcilers in every process; 0: unlimited
//	    mercato: {tenantId: 8f14e45f-…, organizationId: c9f0f895-…}
//	    webhook:                        # optional
//	      url: https://orosync.example/webhooks/acme   # where this connection's Oro webhooks deliver
//	      secretEnv: ACME_WEBHOOK_SECRET
type tenantsFile struct {
	Tenants []tenantEntry `yaml:"tenants"`
}

type tenantEntry struct {
	Name string `yaml:"name"`
	Oro  struct {
		BaseURL         string `yaml:"baseUrl"`
		TokenURL        string `yaml:"tokenUrl"`
		ClientID        string `yaml:"clientId"`
		ClientSecretEnv string `yaml:"clientSecretEnv"`
	} `yaml:"oro"`
	Types           []string `yaml:"types"`
	BudgetPerMinute float64  `yaml:"budgetPerMinute"`
	Mercato         struct {
		TenantID       string `yaml:"tenantId"`
		OrganizationID string `yaml:"organizationId"`
	} `yaml:"mercato"`
	Webhook struct {
		URL       string `yaml:"url"`
		SecretEnv string `yaml:"secretEnv"`
	} `yaml:"webhook"`
}

// connection is one configured Oro connection, resolved: secrets read from the environment, budget built.
type connection struct {
	Name          string
	Oro           oro.Config
	Types         []string
	Scope         writer.Scope
	WebhookURL    string
	WebhookSecret string
}

var tenantName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// loadTenants reads and checks a tenants file; lookup reads environment variables (os.LookupEnv). Every problem
// is reported, naming the tenant and field; no secret value ever appears in an error.
func loadTenants(path string, lookup func(string) (string, bool), metrics *oro.Metrics) ([]connection, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tenants config: %w", err)
	}
	var f tenantsFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		if bytes.Contains(b, []byte("clientSecret:")) || bytes.Contains(b, []byte(`"clientSecret"`)) {
			return nil, fmt.Errorf("tenants config %s: secrets are not accepted in the file; name the environment variable with clientSecretEnv (%w)", path, err)
		}
		return nil, fmt.Errorf("tenants config %s: %w", path, err)
	}
	if len(f.Tenants) == 0 {
		return nil, fmt.Errorf("tenants config %s: no tenants", path)
	}
	keys, err := writer.ReadEncryptionKeys(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("tenants config %s: %w", path, err)
	}
	var (
		out  []connection
		errs []error
		seen []string
	)
	for i, t := range f.Tenants {
		where := fmt.Sprintf("tenants[%d] (%s)", i, t.Name)
		bad := func(field, msg string) { errs = append(errs, fmt.Errorf("%s: %s: %s", where, field, msg)) }
		if !tenantName.MatchString(t.Name) {
			bad("name", "must be 1-64 letters, digits, - or _ (it becomes part of subjects)")
		} else if slices.Contains(seen, t.Name) {
			bad("name", "used twice")
		}
		seen = append(seen, t.Name)
		if t.Oro.BaseURL == "" {
			bad("oro.baseUrl", "required")
		}
		if t.Oro.ClientID == "" {
			bad("oro.clientId", "required")
		}
		var secret string
		if t.Oro.ClientSecretEnv == "" {
			bad("oro.clientSecretEnv", "required: the environment variable holding the client secret")
		} else if v, ok := lookup(t.Oro.ClientSecretEnv); !ok || v == "" {
			bad("oro.clientSecretEnv", "environment variable "+t.Oro.ClientSecretEnv+" is not set")
		} else {
			secret = v
		}
		tid, err := uuid.Parse(t.Mercato.TenantID)
		if err != nil {
			bad("mercato.tenantId", fmt.Sprintf("%q is not a UUID", t.Mercato.TenantID))
		}
		oid, err := uuid.Parse(t.Mercato.OrganizationID)
		if err != nil {
			bad("mercato.organizationId", fmt.Sprintf("%q is not a UUID", t.Mercato.OrganizationID))
		}
		if t.BudgetPerMinute < 0 {
			bad("budgetPerMinute", "must not be negative")
		}
		var hookSecret string
		if t.Webhook.URL != "" {
			if v, ok := lookup(t.Webhook.SecretEnv); t.Webhook.SecretEnv == "" || !ok || v == "" {
				bad("webhook.secretEnv", "a webhook url needs the environment variable holding its secret")
			} else {
				hookSecret = v
			}
		}
		types := t.Types
		if len(types) == 0 {
			types = supportedTypes()
		}
		scope := writer.Scope{TenantID: tid, OrganizationID: oid, Pepper: keys.Pepper}
		for _, o := range out {
			if tid != uuid.Nil && oid != uuid.Nil && o.Scope.TenantID == tid && o.Scope.OrganizationID == oid {
				bad("mercato", fmt.Sprintf("the tenantId and organizationId of %s: two connections in one Mercato organization "+
					"would overwrite and tombstone each other's records; give each an organization of its own", o.Name))
			}
		}
		if err == nil {
			if scope.DEK, err = keys.TenantDEK(tid.String()); err != nil {
				bad("mercato.tenantId", err.Error())
			}
		}
		out = append(out, connection{Name: t.Name, Types: types, Scope: scope, WebhookURL: t.Webhook.URL, WebhookSecret: hookSecret,
			Oro: oro.Config{BaseURL: t.Oro.BaseURL, TokenURL: t.Oro.TokenURL, ClientID: t.Oro.ClientID, ClientSecret: secret,
				UserAgent: "orosync", Budget: oro.NewCatchUpBudget(t.Name, t.BudgetPerMinute, metrics)}})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("tenants config %s:\n%w", path, err)
	}
	return out, nil
}

// connections is the pipeline's tenants: the config file's, or the one given by flags.
func (p pipeline) connections() []connection {
	if len(p.Tenants) > 0 {
		return p.Tenants
	}
	// OROSYNC_WEBHOOK_URL: where this connection's Oro webhooks deliver (its subscriptions to it make webhooks
	// the primary source, polling the safety net).
	return []connection{{Name: p.Tenant, Oro: p.Oro, Types: p.Types, Scope: p.Scope, WebhookURL: env("OROSYNC_WEBHOOK_URL", "")}}
}

func (p pipeline) pollerTenants() map[string]poller.Tenant {
	out := map[string]poller.Tenant{}
	for _, c := range p.connections() {
		out[c.Name] = poller.Tenant{Oro: c.Oro, Types: c.Types, WebhookURL: c.WebhookURL}
	}
	return out
}

func (p pipeline) reconcilerTenants() map[string]reconciler.Tenant {
	out := map[string]reconciler.Tenant{}
	for _, c := range p.connections() {
		out[c.Name] = reconciler.Tenant{Oro: c.Oro, Types: c.Types,
			Scope: reconciler.Scope{TenantID: c.Scope.TenantID, OrganizationID: c.Scope.OrganizationID}}
	}
	return out
}

func (p pipeline) writerScopes() map[string]writer.Scope {
	out := map[string]writer.Scope{}
	for _, c := range p.connections() {
		out[c.Name] = c.Scope
	}
	return out
}

// runTenants is `orosync run --config FILE`: every configured connection in this process, sharing NATS,
// PostgreSQL and the transformer and writer.
func runTenants(ctx context.Context, c *common, path string, svcs services, ops opsFlags, pollEvery, reconcileEvery time.Duration, withMercato bool, stdout, stderr io.Writer) error {
	log := c.logger(stderr)
	metrics, stopMetrics, err := newMetricsServer(httpTimeouts{})
	if err != nil {
		return err
	}
	defer stopMetrics()
	tracer, stopTracing, err := osTracerProvider(ctx, stdout)
	if err != nil {
		return err
	}
	defer stopTracing()
	if _, err := encryptionKeys(log); err != nil {
		return err
	}
	conns, err := loadTenants(path, os.LookupEnv, metrics.oro)
	if err != nil {
		return err
	}
	natsURL := c.natsURL
	if natsURL == "" {
		srv, url, err := embeddedNATS(c.dataDir, c.natsPort)
		if err != nil {
			return err
		}
		defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
		natsURL = url
		fmt.Fprintf(stdout, "Embedded NATS at %s, streams under %s\n", url, srv.JetStreamConfig().StoreDir)
	}
	if err := prepare(ctx, natsURL, c.databaseURL, c.replicas, c.applyContracts, withMercato, log); err != nil {
		return err
	}
	budgets := map[string]*oro.Budget{}
	for _, t := range conns {
		budgets[t.Name] = t.Oro.Budget
	}
	if svcs.needsOro() {
		unshare, err := shareBudgets(ctx, natsURL, budgets, log)
		if err != nil {
			return err
		}
		defer unshare()
	}
	unwatch, err := metrics.health.watchDependencies(ctx, natsURL, c.databaseURL, svcs, budgets, log)
	if err != nil {
		return err
	}
	defer unwatch()
	rules, err := parseRules(c.conflictPolicy)
	if err != nil {
		return err
	}
	p := pipeline{NatsURL: natsURL, LeasePeriod: c.leasePeriod, DatabaseURL: c.databaseURL, Tenants: conns, Replicas: c.replicas, Log: log, Rules: rules,
		NoEmailMatch: c.noEmailMatch, WriterReplicationRole: c.replicaRole, PollInterval: pollEvery, ReconcileInterval: reconcileEvery, PollerMetrics: metrics.poller, WriterMetrics: metrics.writer,
		TransformerMetrics: metrics.transf, ReconcilerRegisterer: metrics.reg, Services: svcs, Tracer: tracer}
	stopOps, err := startOpsPage(ctx, ops, natsURL, c.databaseURL, conns, svcs, log)
	if err != nil {
		return err
	}
	defer stopOps()
	for _, t := range conns {
		log.Info("orosync tenant", "tenant", t.Name, "types", t.Types, "oro", t.Oro, "mercato_tenant", t.Scope.TenantID,
			"mercato_organization", t.Scope.OrganizationID, "webhook_url", t.WebhookURL)
	}
	return p.Run(ctx)
}

type metricsSet struct {
	oro    *oro.Metrics
	poller *poller.Metrics
	writer *writer.Metrics
	transf *transformer.Metrics
	reg    prometheus.Registerer // the reconciler registers its metrics when it starts
	health *health
}

// newMetricsServer builds the Oro budget, poller, transformer and writer metrics of every connection (and the
// registry the reconciler's join when it starts) and, with
// OROSYNC_METRICS_ADDR set, serves them on /metrics there.
func newMetricsServer(timeouts httpTimeouts) (metricsSet, func(), error) {
	reg := prometheus.NewRegistry()
	om, err := oro.NewMetrics(reg)
	if err != nil {
		return metricsSet{}, nil, err
	}
	pm, err := poller.NewMetrics(reg)
	if err != nil {
		return metricsSet{}, nil, err
	}
	wm, err := writer.NewMetrics(reg)
	if err != nil {
		return metricsSet{}, nil, err
	}
	tm, err := transformer.NewMetrics(reg)
	if err != nil {
		return metricsSet{}, nil, err
	}
	set := metricsSet{oro: om, poller: pm, writer: wm, transf: tm, reg: reg, health: &health{}}
	set.health.add("writer", writerCheck(wm))
	addr := env("OROSYNC_METRICS_ADDR", "")
	if addr == "" {
		return set, func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return metricsSet{}, nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", set.health.healthz)
	mux.HandleFunc("/readyz", set.health.readyz)
	srv := timeouts.orDefault().server(mux)
	go func() { _ = srv.Serve(ln) }()
	return set, func() { _ = srv.Close() }, nil
}
