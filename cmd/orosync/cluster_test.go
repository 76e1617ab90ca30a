package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts"
	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
)

// clusterEnv is a 3-node cluster with orosync's contracts applied by the admin at 3 replicas, a simulator and a
// database.
type clusterEnv struct {
	t      *testing.T
	ctx    context.Context
	nats   *natsCluster
	sim    *orosim.Server
	oroURL string
	dbURL  string
	db     *pgxpool.Pool
}

func newClusterEnv(t *testing.T, contacts int, timeout time.Duration) *clusterEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	// Contacts with the few records they refer to (owners, their business unit, an account), synced too: a
	// contact whose references never arrive would wait for them in orosync_waiting_refs.
	sim := orosim.New(orosim.Config{ClientID: "orosync", ClientSecret: "s3cret", Contacts: contacts, Seed: 11,
		Counts: map[string]int{"users": 5, "businessunits": 1, "accounts": 1}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	e := &clusterEnv{t: t, ctx: ctx, nats: startNATSCluster(t, "acme", "globex"), sim: sim, oroURL: srv.URL + "/api",
		dbURL: dbtest.NewDatabase(t)}
	var err error
	if e.db, err = pgxpool.New(ctx, e.dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.db.Close)
	if err := run(ctx, []string{"migrate", "--database-url", e.dbURL, "--nats-url", e.nats.URL(contracts.UserAdmin), "--replicas", "3"},
		io.Discard, io.Discard); err != nil {
		t.Fatalf("orosync migrate --nats-url (admin) --replicas 3: %v", err)
	}
	t.Setenv("OROSYNC_ORO_CLIENT_SECRET", "s3cret")
	return e
}

// start runs `orosync run --services svc` as the service's own NATS user of connection acme.
func (e *clusterEnv) start(svc string, extra ...string) *child {
	user := map[string]string{svcPoller: contracts.PollerUser("acme"), svcReconciler: contracts.ReconcilerUser("acme"),
		svcTransformer: contracts.UserTransformer, svcWriter: contracts.UserWriter}[svc]
	args := []string{"run", "--services", svc, "--apply-contracts=false", "--nats-url", e.nats.URL(user), "--database-url", e.dbURL,
		"--tenant", "acme", "--types", "users,businessunits,accounts,contacts", "--log-level", "warn"}
	if svc == svcPoller || svc == svcReconciler {
		args = append(args, "--oro-url", e.oroURL, "--poll-interval", "1s")
	}
	return startOrosync(e.t, append(args, extra...)...)
}

// waitForPersons waits until Mercato holds want people from Oro, failing if a process ends first.
func (e *clusterEnv) waitForPersons(want int, procs map[string]*child) {
	e.t.Helper()
	every := 100 * time.Millisecond
	if want > 10_000 {
		every = time.Second // counting a large join ten times a second would slow the database down
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for persons := 0; persons < want; {
		select {
		case <-e.ctx.Done():
			e.t.Fatalf("%d of %d contacts reached Mercato: %v\n%s\n%s", persons, want, e.ctx.Err(), e.diagnose(), outputs(procs))
		case <-tick.C:
		}
		for name, c := range procs {
			select {
			case <-c.Exited():
				e.t.Fatalf("%s ended: %v\n%s", name, c.err, c.output)
			default:
			}
		}
		if err := e.db.QueryRow(e.ctx, `SELECT count(*) FROM customer_people p JOIN sync_external_id_mappings m
			ON m.internal_entity_id = p.entity_id AND m.internal_entity_type = 'customers.person'`).Scan(&persons); err != nil {
			e.t.Fatal(err)
		}
	}
}

func outputs(procs map[string]*child) string {
	var b strings.Builder
	for name, c := range procs {
		b.WriteString("--- " + name + "\n" + c.output.String())
	}
	return b.String()
}

// userConn is a connection as one user that reports the server's asynchronous errors (permission violations).
type userConn struct {
	*nats.Conn
	js     jetstream.JetStream
	errors chan error
}

func (e *clusterEnv) connectAs(user string) *userConn {
	e.t.Helper()
	u := &userConn{errors: make(chan error, 64)}
	url := e.nats.URL(user)
	nc, err := nats.Connect(url, natsconn.Inbox(url), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case u.errors <- err:
		default:
		}
	}))
	if err != nil {
		e.t.Fatalf("connecting as %s: %v", user, err)
	}
	e.t.Cleanup(nc.Close)
	u.Conn = nc
	if u.js, err = jetstream.New(nc); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// denied waits for the server's permissions violation of a subject ending in subject (what refused it), failing on
// another error or none before the context ends.
func (u *userConn) denied(t *testing.T, ctx context.Context, what, subject string) {
	t.Helper()
	for {
		select {
		case err := <-u.errors:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), subject+`"`) {
				return
			}
			if !errors.Is(err, nats.ErrPermissionViolation) {
				t.Fatalf("%s: error %v, want a permissions violation", what, err)
			}
		case <-ctx.Done():
			t.Fatalf("%s: no permissions violation for %s", what, subject)
		}
	}
}

// publishDenied publishes to subject and waits for the violation.
func (u *userConn) publishDenied(t *testing.T, ctx context.Context, subject string) {
	t.Helper()
	if err := u.Publish(subject, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := u.FlushWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	u.denied(t, ctx, "publish to "+subject, subject)
}

// subscribeDenied subscribes to subject and waits for the violation.
func (u *userConn) subscribeDenied(t *testing.T, ctx context.Context, subject string) {
	t.Helper()
	if _, err := u.SubscribeSync(subject); err != nil {
		t.Fatal(err)
	}
	if err := u.FlushWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	u.denied(t, ctx, "subscription to "+subject, subject)
}

// kv opens OROSYNC_CURSORS as the user.
func (u *userConn) kv(t *testing.T, ctx context.Context) jetstream.KeyValue {
	t.Helper()
	kv, err := u.js.KeyValue(ctx, "OROSYNC_CURSORS")
	if err != nil {
		t.Fatalf("opening OROSYNC_CURSORS: %v", err)
	}
	return kv
}

// putDenied tries a key-value write and checks it was refused and the key is absent.
func (u *userConn) putDenied(t *testing.T, ctx context.Context, admin jetstream.KeyValue, key string) {
	t.Helper()
	kv := u.kv(t, ctx)
	pctx, cancel := context.WithTimeout(ctx, time.Second) // the refused write gets no acknowledgement: the violation tells
	defer cancel()
	if _, err := kv.Put(pctx, key, []byte("x")); err == nil {
		t.Fatalf("writing %s succeeded", key)
	}
	u.denied(t, ctx, "writing "+key, "$KV.OROSYNC_CURSORS."+key)
	if _, err := admin.Get(ctx, key); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("%s after the refused write: %v, want not found", key, err)
	}
}

func TestClusterRunsEachServiceAsItsOwnNATSUserWithLeastPrivilege(t *testing.T) {
	const contacts = 300
	e := newClusterEnv(t, contacts, 4*time.Minute)
	admin := e.connectAs(contracts.UserAdmin)
	t.Run("streams and the bucket have three replicas", func(t *testing.T) {
		names := []string{"ORO_RAW", "MERCATO_CHANGES", "MERCATO_EVENTS", "OROSYNC_DLQ", "KV_OROSYNC_CURSORS"}
		for _, n := range names {
			st, err := admin.js.Stream(e.ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			info := st.CachedInfo()
			if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
				t.Errorf("stream %s: %d replicas configured, cluster %+v; want 3", n, info.Config.Replicas, info.Cluster)
			}
		}
	})

	procs := map[string]*child{}
	for _, svc := range allServices {
		procs[svc] = e.start(svc, "--reconcile-interval", "1h")
	}
	e.waitForPersons(contacts, procs)
	e.assertMercatoEqualsOro()
	for svc, c := range procs {
		if out := c.output.String(); strings.Contains(out, "Permissions Violation") {
			t.Errorf("the %s was refused something it does:\n%s", svc, out)
		}
	}

	adminKV := admin.kv(t, e.ctx)
	poller, reconciler := e.connectAs(contracts.PollerUser("acme")), e.connectAs(contracts.ReconcilerUser("acme"))
	transformer, writer, mercato := e.connectAs(contracts.UserTransformer), e.connectAs(contracts.UserWriter), e.connectAs(contracts.UserMercato)
	t.Run("each user writes its own keys", func(t *testing.T) {
		for u, key := range map[*userConn]string{poller: "acme._test", reconciler: "_reconciler.acme._test", writer: "_scope._test"} {
			if _, err := u.kv(t, e.ctx).Put(e.ctx, key, []byte("ok")); err != nil {
				t.Errorf("writing %s: %v", key, err)
			}
		}
	})
	t.Run("a poller reads its own connection's raw subjects, not another's", func(t *testing.T) {
		st, err := poller.js.Stream(e.ctx, "ORO_RAW")
		if err != nil {
			t.Fatal(err)
		}
		// What PublishedHashes does: a consumer on the connection's subjects pushing to the poller's own inbox.
		lastVersions := func(ctx context.Context, filter string) (jetstream.PushConsumer, error) {
			return st.CreatePushConsumer(ctx, jetstream.ConsumerConfig{DeliverSubject: poller.NewInbox(), FilterSubject: filter,
				DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy, AckPolicy: jetstream.AckNonePolicy, FlowControl: true,
				IdleHeartbeat: time.Second, InactiveThreshold: time.Minute, MemoryStorage: true, Replicas: 1})
		}
		cons, err := lastVersions(e.ctx, "oro.raw.acme.contacts.*")
		if err != nil {
			t.Fatalf("the poller's consumer on its subjects: %v", err)
		}
		got := make(chan jetstream.Msg, 1)
		cc, err := cons.Consume(func(m jetstream.Msg) {
			select {
			case got <- m:
			default:
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Stop()
		select {
		case m := <-got:
			if !strings.HasPrefix(m.Subject(), "oro.raw.acme.contacts.") {
				t.Errorf("delivered %s", m.Subject())
			}
		case <-e.ctx.Done():
			t.Fatal("reading its last versions: nothing delivered")
		}
		octx, cancel := context.WithTimeout(e.ctx, time.Second) // the refused request gets no answer: the violation tells
		defer cancel()
		if _, err := lastVersions(octx, "oro.raw.globex.contacts.*"); err == nil {
			t.Fatal("the poller of acme read globex's subjects")
		}
		poller.denied(t, e.ctx, "a consumer on globex's subjects", ".oro.raw.globex.contacts.*")
	})
	t.Run("publishes outside a user's job are refused", func(t *testing.T) {
		poller.publishDenied(t, e.ctx, "oro.raw.globex.contacts.1") // another tenant's subjects
		poller.publishDenied(t, e.ctx, "mercato.changes.acme.person.contacts.1")
		poller.publishDenied(t, e.ctx, "$JS.API.CONSUMER.DELETE.ORO_RAW.transformer")
		poller.publishDenied(t, e.ctx, "$JS.API.STREAM.PURGE.ORO_RAW")
		poller.publishDenied(t, e.ctx, "$JS.API.CONSUMER.MSG.NEXT.ORO_RAW.transformer")           // the transformer's deliveries
		poller.publishDenied(t, e.ctx, "$JS.API.CONSUMER.MSG.NEXT.ORO_RAW."+ReplayConsumer("v2")) // a replay's (admin's)
		poller.publishDenied(t, e.ctx, "$JS.API.CONSUMER.MSG.NEXT.ORO_RAW.any")                   // it pulls from none
		reconciler.publishDenied(t, e.ctx, "oro.raw.globex.contacts.1")
		transformer.publishDenied(t, e.ctx, "oro.raw.acme.contacts.1")
		transformer.publishDenied(t, e.ctx, "$JS.API.CONSUMER.MSG.NEXT.MERCATO_CHANGES.writer") // the writer's deliveries
		transformer.publishDenied(t, e.ctx, "$JS.API.CONSUMER.MSG.NEXT.ORO_RAW."+ReplayConsumer("v2"))
		writer.publishDenied(t, e.ctx, "mercato.changes.acme.person.contacts.1")
		writer.publishDenied(t, e.ctx, "$JS.API.CONSUMER.MSG.NEXT.ORO_RAW.transformer")
		mercato.publishDenied(t, e.ctx, "mercato.events.acme.customers.person.created.1")
		mercato.publishDenied(t, e.ctx, "$JS.API.STREAM.DELETE.MERCATO_EVENTS")
	})
	t.Run("subscribing to another user's inboxes is refused", func(t *testing.T) {
		mercato.subscribeDenied(t, e.ctx, "_INBOX.>")
		mercato.subscribeDenied(t, e.ctx, contracts.InboxPrefix(contracts.UserTransformer)+".>")
		poller.subscribeDenied(t, e.ctx, contracts.InboxPrefix(contracts.UserWriter)+".>")
		transformer.subscribeDenied(t, e.ctx, contracts.InboxPrefix(contracts.PollerUser("acme"))+".>")
		writer.subscribeDenied(t, e.ctx, "oro.raw.>")
		reconciler.subscribeDenied(t, e.ctx, contracts.InboxPrefix(contracts.PollerUser("globex"))+".>")
	})
	t.Run("key-value writes outside a user's keys are refused", func(t *testing.T) {
		poller.putDenied(t, e.ctx, adminKV, "_reconciler.acme.contacts.breaker") // the reconciler's breaker
		poller.putDenied(t, e.ctx, adminKV, "globex.contacts")                   // another tenant's cursor
		reconciler.putDenied(t, e.ctx, adminKV, "_reconciler.globex.contacts.breaker")
		reconciler.putDenied(t, e.ctx, adminKV, "acme.contacts_x")
		writer.putDenied(t, e.ctx, adminKV, "acme.contacts_x")
		transformer.publishDenied(t, e.ctx, "$KV.OROSYNC_CURSORS._scope.x") // it may not even open the bucket
	})
	for _, c := range procs {
		c.stop(t)
	}
}

// assertMercatoEqualsOro compares every Oro contact with its Mercato person by a checksum of the id, the
// version applied (updatedAt) and the fields both hold, and fails on a contact missing from Mercato, one held
// twice (two people, two mappings) or one whose fields differ.
func (e *clusterEnv) assertMercatoEqualsOro() {
	e.t.Helper()
	oroSums := e.oroChecksums()
	// Counted by grouping once, not per row: a correlated count per record takes minutes at 100,000.
	rows, err := e.db.Query(e.ctx, `
WITH m AS (SELECT external_id, count(*) AS n FROM sync_external_id_mappings
           WHERE internal_entity_type = 'customers.person' AND starts_with(external_id, 'contacts:') GROUP BY external_id),
     pp AS (SELECT entity_id, count(*) AS n FROM customer_people GROUP BY entity_id)
SELECT r.source_id, r.source_updated_at, coalesce(p.first_name, ''), coalesce(p.last_name, ''), coalesce(en.primary_email, ''),
       coalesce(m.n, 0), coalesce(pp.n, 0)
FROM orosync_records r
JOIN customer_entities en ON en.id = r.internal_entity_id
LEFT JOIN customer_people p ON p.entity_id = r.internal_entity_id
LEFT JOIN m ON m.external_id = 'contacts:' || r.source_id
LEFT JOIN pp ON pp.entity_id = r.internal_entity_id
WHERE r.source_type = 'contacts' AND r.deleted_at IS NULL`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	mercato := map[string]string{}
	var doubled []string
	for rows.Next() {
		var id, first, last, email string
		var updated time.Time
		var mappings, people int
		if err := rows.Scan(&id, &updated, &first, &last, &email, &mappings, &people); err != nil {
			e.t.Fatal(err)
		}
		if _, seen := mercato[id]; seen || mappings != 1 || people != 1 {
			doubled = append(doubled, fmt.Sprintf("%s (%d mappings, %d people)", id, mappings, people))
		}
		mercato[id] = recordChecksum(id, updated, first, last, email)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	var missing, differ []string
	for id, sum := range oroSums {
		switch m, ok := mercato[id]; {
		case !ok:
			missing = append(missing, id)
		case m != sum:
			differ = append(differ, id)
		}
	}
	extra := len(mercato) - (len(oroSums) - len(missing))
	if len(missing)+len(differ)+len(doubled)+extra > 0 {
		e.t.Errorf("Mercato differs from Oro's %d contacts: %d missing %v, %d doubled %v, %d different %v, %d not in Oro",
			len(oroSums), len(missing), head(missing), len(doubled), head(doubled), len(differ), head(differ), extra)
	}
}

func head(s []string) []string { return s[:min(len(s), 10)] }

// recordChecksum is one contact's checksum: id, version and the fields Oro and Mercato both hold.
func recordChecksum(id string, updated time.Time, first, last, email string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{id, updated.UTC().Format(time.RFC3339Nano), first, last, strings.ToLower(email)}, "\x00")))
	return hex.EncodeToString(h[:])
}

// oroChecksums reads every contact through Oro's API, a page at a time.
func (e *clusterEnv) oroChecksums() map[string]string {
	e.t.Helper()
	client, err := oro.New(e.ctx, oro.Config{BaseURL: e.oroURL, ClientID: "orosync", ClientSecret: "s3cret"})
	if err != nil {
		e.t.Fatal(err)
	}
	str := func(r oro.Resource, attr string) string {
		var s *string
		_ = json.Unmarshal(r.Attributes[attr], &s)
		if s == nil {
			return ""
		}
		return *s
	}
	out := map[string]string{}
	const size = 1000
	for page := 1; ; page++ {
		p, err := client.List(e.ctx, "contacts", oro.Query{PageNumber: page, PageSize: size, Sort: []string{"id"}})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, r := range p.Data {
			var updated time.Time
			if err := json.Unmarshal(r.Attributes["updatedAt"], &updated); err != nil {
				e.t.Fatalf("contact %s: updatedAt: %v", r.ID, err)
			}
			out[r.ID] = recordChecksum(r.ID, updated, str(r, "firstName"), str(r, "lastName"), str(r, "primaryEmail"))
		}
		if len(p.Data) < size {
			return out
		}
	}
}

// waitForIdle waits until the transformer and the writer have acknowledged everything their streams hold.
func (e *clusterEnv) waitForIdle(admin *userConn) {
	e.t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		done := true
		for _, c := range [][2]string{{"ORO_RAW", "transformer"}, {"MERCATO_CHANGES", "writer"}} {
			ok, err := consumedAll(e.ctx, admin.js, c[0], c[1])
			done = done && ok && err == nil
		}
		if done {
			return
		}
		select {
		case <-e.ctx.Done():
			e.t.Fatalf("the transformer and writer did not finish: %v", e.ctx.Err())
		case <-tick.C:
		}
	}
}

// diagnose describes the streams and consumers as the admin sees them, for a failure's message.
func (e *clusterEnv) diagnose() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := e.nats.URL(contracts.UserAdmin)
	nc, err := nats.Connect(url, natsconn.Inbox(url))
	if err != nil {
		return "diagnose: " + err.Error()
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var b strings.Builder
	for _, c := range [][2]string{{"ORO_RAW", "transformer"}, {"MERCATO_CHANGES", "writer"}} {
		if st, err := js.Stream(ctx, c[0]); err == nil {
			fmt.Fprintf(&b, "stream %s: %+v cluster %+v\n", c[0], st.CachedInfo().State, st.CachedInfo().Cluster)
		} else {
			fmt.Fprintf(&b, "stream %s: %v\n", c[0], err)
		}
		if cons, err := js.Consumer(ctx, c[0], c[1]); err == nil {
			i := cons.CachedInfo()
			fmt.Fprintf(&b, "consumer %s/%s: delivered %+v ack floor %+v pending %d ack pending %d redelivered %d waiting %d cluster %+v\n",
				c[0], c[1], i.Delivered, i.AckFloor, i.NumPending, i.NumAckPending, i.NumRedelivered, i.NumWaiting, i.Cluster)
		} else {
			fmt.Fprintf(&b, "consumer %s/%s: %v\n", c[0], c[1], err)
		}
	}
	return b.String()
}
