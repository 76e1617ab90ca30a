package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
	"github.com/orosync/orosync/services/reconciler/service"
)

// TestMain lets the test binary act as a reconciler process (OROSYNC_RECONCILER_CHILD=1) so that the benchmark
// measures the reconciler's own peak RSS, not the simulator's or the database's.
func TestMain(m *testing.M) {
	if os.Getenv("OROSYNC_RECONCILER_CHILD") == "1" {
		os.Exit(reconcilerChild())
	}
	os.Exit(m.Run())
}

// reconcilerChild runs one reconcile round and prints its report and VmHWM as JSON on stdout.
func reconcilerChild() int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cfg := service.Config{NatsURL: os.Getenv("OROSYNC_NATS_URL"), DatabaseURL: os.Getenv("DATABASE_URL"), GracePasses: 1,
		Tenants: map[string]service.Tenant{tenant: {
			Oro:   oro.Config{BaseURL: os.Getenv("OROSYNC_ORO_URL"), ClientID: clientID, ClientSecret: clientSecret},
			Scope: scope, Types: []string{"contacts"}}},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	rep, err := service.RunOnce(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reconcile:", err)
		return 1
	}
	out, _ := json.Marshal(map[string]any{"counts": rep.Counts, "pages": rep.Passes[0].Pages, "vmhwm_kb": vmHWM()})
	fmt.Println(string(out))
	return 0
}

// vmHWM is the process's peak resident set from /proc (kB), -1 where there is none.
func vmHWM() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return -1
}

// BenchmarkDiffOfAMillionIDs runs the reconciler as its own process: Oro has 1,000,000 contacts, 1,000 of them
// deleted, and Mercato holds 1,009,000 (the deleted ones and 9,000 above Oro's highest id: 1 % missing in all);
// the audit log is forbidden, so the full-id diff finds them, with page size 10,000 allowed. It reports the
// reconciler's peak RSS (must stay within 128 MB) and the list calls the simulator counted (at most 100).
// (Deleting 10,000 in the simulator instead would cost minutes: each delete copies its id-ordered columns.)
func BenchmarkDiffOfAMillionIDs(b *testing.B) {
	const contacts, deleted, extra = 1_000_000, 1_000, 9_000
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	sim := orosim.New(orosim.Config{ClientID: clientID, ClientSecret: clientSecret, Contacts: contacts, Seed: 7,
		MaxEntities: 10_000, Faults: orosim.Faults{AuditForbidden: true}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	js := jstest.Start(b)
	url := dbtest.NewDatabase(b)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `
INSERT INTO orosync_records (tenant_id, organization_id, source_type, source_id, internal_entity_type, internal_entity_id,
  profile_id, source_updated_at, payload_hash, mapping_version)
SELECT $1, $2, 'contacts', i::text, 'customers.person', gen_random_uuid(), gen_random_uuid(), '2026-01-02T03:04:05Z',
  md5(i::text), 'contacts-v1'
FROM generate_series(1, $3::int) AS i`, scope.TenantID, scope.OrganizationID, contacts+extra); err != nil {
		b.Fatal(err)
	}
	for i := range deleted {
		if err := sim.DeleteContact(strconv.Itoa(i*(contacts/deleted) + 37)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		before := sim.Requests()["GET /api/contacts"]
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "OROSYNC_RECONCILER_CHILD=1", "OROSYNC_NATS_URL="+js.URL, "DATABASE_URL="+url,
			"OROSYNC_ORO_URL="+srv.URL+"/api")
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("reconciler: %v", err)
		}
		b.StopTimer()
		var got struct {
			Counts struct{ Listed, Held, Missing, Published int }
			Pages  int
			VmHWM  int `json:"vmhwm_kb"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			b.Fatalf("child said %q: %v", out, err)
		}
		calls := sim.Requests()["GET /api/contacts"] - before
		if got.Counts.Listed != contacts-deleted || got.Counts.Held != contacts+extra || got.Counts.Missing != deleted+extra ||
			got.Counts.Published != deleted+extra {
			b.Fatalf("diff %+v", got.Counts)
		}
		// VmHWM of the child itself: rusage's maxrss of a forked child counts the parent's pages from before exec
		// (here the simulator's gigabytes), so it cannot tell.
		if got.VmHWM <= 0 {
			b.Fatal("the child could not read its VmHWM")
		}
		rss := float64(got.VmHWM) / 1024
		b.ReportMetric(rss, "peak-RSS-MB")
		b.ReportMetric(float64(got.Pages), "pages")
		b.ReportMetric(float64(calls), "list-calls")
		if rss > 128 {
			b.Errorf("peak RSS %.1f MB, want at most 128 MB", rss)
		}
		if calls > 100 {
			b.Errorf("%d list calls, want at most 100", calls)
		}
		b.StartTimer()
	}
}
