package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/orosync/orosync/contracts"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
)

// checkEnv is what config check tests: the simulator, a Mercato database with its directory tables, and one NATS
// server with the users of `orosync nats-accounts` (least privilege) for the connections acme and globex.
type checkEnv struct {
	oroURL   string
	dbURL    string
	natsURL  func(user string) string
	tid, oid uuid.UUID
}

func newCheckEnv(t *testing.T) checkEnv {
	t.Helper()
	sim := orosim.New(orosim.Config{ClientID: "orosync", ClientSecret: "s3cret", Contacts: 3, Seed: 1,
		Counts: map[string]int{"accounts": 2}, Faults: orosim.Faults{AuditForbidden: true}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	e := checkEnv{oroURL: srv.URL + "/api", dbURL: dbtest.NewDatabase(t), tid: uuid.New(), oid: uuid.New()}
	db, err := pgx.Connect(t.Context(), e.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close(t.Context()) }()
	// Open Mercato's directory tables (tenants, organizations), the columns the check reads.
	for _, q := range []string{
		`CREATE TABLE tenants (id uuid PRIMARY KEY, name text NOT NULL, deleted_at timestamptz)`,
		`CREATE TABLE organizations (id uuid PRIMARY KEY, tenant_id uuid NOT NULL REFERENCES tenants, name text NOT NULL, deleted_at timestamptz)`,
		fmt.Sprintf(`INSERT INTO tenants VALUES ('%s', 'Acme', NULL)`, e.tid),
		fmt.Sprintf(`INSERT INTO organizations VALUES ('%s', '%s', 'Acme HQ', NULL)`, e.oid, e.tid),
	} {
		if _, err := db.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	e.natsURL = startLeastPrivilegeNATS(t, "acme", "globex")
	return e
}

// startLeastPrivilegeNATS runs one embedded server with the users `orosync nats-accounts` prints for tenants,
// with orosync's streams, consumers and bucket applied by admin; it returns a user's URL.
func startLeastPrivilegeNATS(t *testing.T, tenants ...string) func(user string) string {
	t.Helper()
	dir := t.TempDir()
	users := contracts.Users(tenants)
	for _, u := range users {
		t.Setenv(contracts.PasswordVar(u.Name), "pw-"+u.Name)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts.conf"), []byte(contracts.AccountsConf(users)), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "node.conf")
	body := fmt.Sprintf("listen: 127.0.0.1:-1\njetstream { store_dir: %q }\ninclude ./accounts.conf\n", filepath.Join(dir, "js"))
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	opts.NoLog, opts.NoSigs = true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	url := func(user string) string {
		return strings.Replace(srv.ClientURL(), "nats://", "nats://"+user+":pw-"+user+"@", 1)
	}
	js := connectJetStream(t, url(contracts.UserAdmin))
	if err := contracts.Ensure(t.Context(), js, contracts.Options{}); err != nil {
		t.Fatal(err)
	}
	return url
}

func (e checkEnv) connection(name string, types ...string) connection {
	c := connection{Name: name, Types: types, Oro: oro.Config{BaseURL: e.oroURL, ClientID: "orosync", ClientSecret: "s3cret"}}
	c.Scope.TenantID, c.Scope.OrganizationID = e.tid, e.oid
	return c
}

// byCheck indexes checks by name; every name must be there once.
func byCheck(t *testing.T, checks []connCheck) map[string]connCheck {
	t.Helper()
	out := map[string]connCheck{}
	for _, c := range checks {
		if _, dup := out[c.Check]; dup {
			t.Errorf("check %q twice", c.Check)
		}
		out[c.Check] = c
	}
	return out
}

// streamCounts is the messages of every stream, as admin sees them.
func streamCounts(t *testing.T, e checkEnv) map[string]uint64 {
	t.Helper()
	js := connectJetStream(t, e.natsURL(contracts.UserAdmin))
	out := map[string]uint64{}
	for name := range js.StreamNames(t.Context()).Name() {
		st, err := js.Stream(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = st.CachedInfo().State.Msgs
	}
	return out
}

func TestConfigCheckPassesForAWorkingConnection(t *testing.T) {
	e := newCheckEnv(t)
	before := streamCounts(t, e)
	defer func() {
		if after := streamCounts(t, e); !reflect.DeepEqual(before, after) {
			t.Errorf("the checks stored messages: streams before %v, after %v", before, after)
		}
	}()
	for _, svc := range allServices {
		t.Run(svc+" as its own user", func(t *testing.T) {
			user := map[string]string{svcPoller: contracts.PollerUser("acme"), svcReconciler: contracts.ReconcilerUser("acme"),
				svcTransformer: contracts.UserTransformer, svcWriter: contracts.UserWriter}[svc]
			checks := checkConnections(t.Context(), checkConfig{NatsURL: e.natsURL(user), DatabaseURL: e.dbURL,
				Connections: []connection{e.connection("acme", "contacts", "accounts")}, Services: services{svc: true}})
			for _, c := range checks {
				if !c.OK {
					t.Errorf("%s %s: FAIL %s", c.Connection, c.Check, c.Detail)
				}
			}
			got := byCheck(t, checks)
			if _, ok := got["nats "+svc]; !ok {
				t.Errorf("no NATS check of the %s: %+v", svc, checks)
			}
			if svc != svcPoller {
				return
			}
			for _, want := range []string{"oro token", "read contacts", "read accounts", "capabilities contacts", "capabilities accounts"} {
				if _, ok := got[want]; !ok {
					t.Errorf("no check %q: %+v", want, checks)
				}
			}
			if d := got["capabilities contacts"].Detail; !strings.Contains(d, "keyset") || !strings.Contains(d, "audit log: 403 forbidden") {
				t.Errorf("capabilities contacts: %s, want keyset and the audit log's 403", d)
			}
			if d := got["read contacts"].Detail; !strings.HasPrefix(d, "1 record read") {
				t.Errorf("read contacts: %s", d)
			}
		})
	}
}

func TestConfigCheckFailsNamingWhatIsWrong(t *testing.T) {
	e := newCheckEnv(t)
	check := func(t *testing.T, cfg checkConfig, name string) connCheck {
		t.Helper()
		if cfg.DatabaseURL == "" {
			cfg.DatabaseURL = e.dbURL
		}
		got := byCheck(t, checkConnections(t.Context(), cfg))
		c, ok := got[name]
		if !ok {
			t.Fatalf("no check %q: %+v", name, got)
		}
		if c.OK {
			t.Errorf("%s passed: %s", name, c.Detail)
		}
		return c
	}
	poller := services{svcPoller: true}
	t.Run("a wrong client secret fails the token, and nothing is read", func(t *testing.T) {
		conn := e.connection("acme", "contacts")
		conn.Oro.ClientSecret = "wrong-secret-7c1d"
		c := check(t, checkConfig{Connections: []connection{conn}, Services: poller}, "oro token")
		if !strings.Contains(c.Detail, "OAuth2 token") || strings.Contains(c.Detail, "wrong-secret-7c1d") {
			t.Errorf("token: %s, want the token failure without the secret", c.Detail)
		}
		if got := byCheck(t, checkConnections(t.Context(), checkConfig{Connections: []connection{conn}, Services: poller})); len(got) != 2 {
			t.Errorf("checks after a failed token: %+v, want the token's and NATS'", got)
		}
	})
	t.Run("a type Oro does not expose fails its read", func(t *testing.T) {
		c := check(t, checkConfig{Connections: []connection{e.connection("acme", "invoices")}, Services: poller}, "read invoices")
		if !strings.Contains(c.Detail, "404") {
			t.Errorf("read invoices: %s, want Oro's 404", c.Detail)
		}
	})
	t.Run("an organization Mercato lacks fails the scope", func(t *testing.T) {
		conn := e.connection("acme", "contacts")
		conn.Scope.OrganizationID = uuid.New()
		c := check(t, checkConfig{Connections: []connection{conn}, Services: services{svcWriter: true}}, "mercato scope")
		if !strings.Contains(c.Detail, "no organization "+conn.Scope.OrganizationID.String()) {
			t.Errorf("scope: %s", c.Detail)
		}
	})
	t.Run("a database without Mercato's directory fails the scope", func(t *testing.T) {
		c := check(t, checkConfig{DatabaseURL: dbtest.NewDatabase(t), Connections: []connection{e.connection("acme", "contacts")},
			Services: services{svcWriter: true}}, "mercato scope")
		if !strings.Contains(c.Detail, "no tenants and organizations tables") {
			t.Errorf("scope: %s", c.Detail)
		}
	})
	t.Run("a poller's user may not do the transformer's work", func(t *testing.T) {
		c := check(t, checkConfig{NatsURL: e.natsURL(contracts.PollerUser("acme")), Connections: []connection{e.connection("acme", "contacts")},
			Services: services{svcTransformer: true}}, "nats transformer")
		if !strings.Contains(c.Detail, "denied") || !strings.Contains(c.Detail, "consumer ORO_RAW/transformer") {
			t.Errorf("nats transformer: %s, want the consumer's denial", c.Detail)
		}
	})
	t.Run("a poller's user may not publish another connection's records", func(t *testing.T) {
		c := check(t, checkConfig{NatsURL: e.natsURL(contracts.PollerUser("acme")), Connections: []connection{e.connection("globex", "contacts")},
			Services: poller}, "nats poller")
		if !strings.Contains(c.Detail, "publish oro.raw.globex.contacts._check: denied") {
			t.Errorf("nats poller: %s, want globex's subjects denied", c.Detail)
		}
	})
	t.Run("a wrong NATS password fails the connection", func(t *testing.T) {
		url := strings.Replace(e.natsURL(contracts.UserWriter), "pw-writer", "nats-pw-wrong-51", 1)
		c := check(t, checkConfig{NatsURL: url, Connections: []connection{e.connection("acme")}, Services: services{svcTransformer: true}}, "nats")
		if !strings.Contains(c.Detail, "Authorization") || strings.Contains(c.Detail, "nats-pw-wrong-51") {
			t.Errorf("nats: %s, want the refusal without the password", c.Detail)
		}
	})
}

func TestConfigCheckCommandPrintsALinePerCheckAndFailsWhenOneDoes(t *testing.T) {
	e := newCheckEnv(t)
	args := func(secret string) []string {
		return []string{"config", "check", "--oro-url", e.oroURL, "--oro-client-secret", secret, "--types", "contacts",
			"--database-url", e.dbURL, "--nats-url", e.natsURL(contracts.PollerUser("acme")), "--tenant", "acme",
			"--services", "poller", "--mercato-tenant-id", e.tid.String(), "--mercato-organization-id", e.oid.String()}
	}
	var out, errOut bytes.Buffer
	if err := run(t.Context(), args("s3cret"), &out, &errOut); err != nil {
		t.Fatalf("config check: %v\n%s%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"acme  oro token", "acme  read contacts", "acme  capabilities contacts", "acme  nats poller"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no line %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	err := run(t.Context(), args("wrong"), &out, &errOut)
	if err == nil || !strings.Contains(out.String(), "FAIL") || exitCode(err, &errOut) != 1 {
		t.Errorf("with a wrong secret: %v, want exit 1 and a FAIL line:\n%s", err, out.String())
	}
}
