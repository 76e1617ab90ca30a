package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/orosim"
	reconciler "github.com/orosync/orosync/services/reconciler/service"
)

// screenshotDir is where the operator page's browser test leaves its screenshots (.gitignore keeps them out of
// git): OROSYNC_SCREENSHOTS, else screenshots/ beside this file.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := env("OROSYNC_SCREENSHOTS", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// syncedBuffer is the running command's output, read while it writes.
type syncedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncedBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// opsRun is `orosync run` with its operator page, syncing a simulated Oro's contacts into a fresh database.
type opsRun struct {
	ctx     context.Context
	sim     *orosim.Server
	db      *pgxpool.Pool
	pageURL string
	token   string
	natsURL string
	dbURL   string
	args    []string // the connection's flags: NATS, database, Oro, tenant, types
	logs    *syncedBuffer
}

const opsContacts = 120

func startOpsRun(t *testing.T, ctx context.Context) *opsRun {
	t.Helper()
	sim := orosim.New(orosim.Config{ClientID: "orosync", ClientSecret: "s3cret", Contacts: opsContacts, Seed: 7})
	oroSrv := httptest.NewServer(sim)
	t.Cleanup(oroSrv.Close)
	ns := jstest.Start(t)
	dbURL, pool := freshDatabase(ctx, t)
	r := &opsRun{ctx: ctx, sim: sim, db: pool, natsURL: ns.URL, dbURL: dbURL, token: "ops-" + randomSecret(), logs: &syncedBuffer{}}
	r.args = []string{"--nats-url", ns.URL, "--database-url", dbURL, "--oro-url", oroSrv.URL + "/api", "--oro-client-secret", "s3cret",
		"--tenant", "acme", "--types", "contacts"}
	addr := freeAddr(t)
	r.pageURL = "http://" + addr + "/"
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, append([]string{"run", "--with-mercato-schema", "--conflict-policy", "merge", "--poll-interval", "200ms",
			"--ops-addr", addr, "--ops-token", r.token}, r.args...), r.logs, r.logs)
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("orosync run: %v\n%s", err, r.logs.String())
		}
	})
	return r
}

// waitFor polls cond until it holds or the test's time is up.
func (r *opsRun) waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if ok {
			return
		}
		select {
		case <-r.ctx.Done():
			t.Fatalf("waiting for %s: %v (last error: %v)\n%s", what, r.ctx.Err(), err, r.logs.String())
		case <-tick.C:
		}
	}
}

func (r *opsRun) count(query string, args ...any) (int, error) {
	var n int
	err := r.db.QueryRow(r.ctx, query, args...).Scan(&n)
	return n, err
}

// browser is a headless Debian chromium sending the page's secret with every request.
func browser(t *testing.T, ctx context.Context, token string) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the operator page is tested in Debian's chromium (apt-get install chromium): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	headers := network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + token}}
	if _, err := chromedp.Call(bctx, network.SetExtraHTTPHeaders, headers); err != nil {
		t.Fatalf("chromium: the secret's header: %v", err)
	}
	return bctx
}

// text is the text of the first element sel selects, once there.
func text(t *testing.T, bctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("the page's %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// screenshot saves the page as name.png in screenshotDir.
func screenshot(t *testing.T, bctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(screenshotDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func TestOperatorPageInChromiumShowsARunningSyncAndActsOnIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := startOpsRun(t, ctx)
	applied := func() (int, error) {
		return r.count(`SELECT count(*) FROM orosync_records WHERE source_type = 'contacts' AND deleted_at IS NULL`)
	}
	r.waitFor(t, "the contacts synced", func() (bool, error) { n, err := applied(); return n == opsContacts, err })

	t.Run("refuses a request without the secret", func(t *testing.T) {
		res, err := http.Get(r.pageURL)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the secret: %d, want 401", r.pageURL, res.StatusCode)
		}
	})

	bctx := browser(t, ctx, r.token)
	t.Run("shows the running sync's numbers", func(t *testing.T) {
		if err := chromedp.Do(bctx, chromedp.Navigate(r.pageURL)); err != nil {
			t.Fatal(err)
		}
		appliedCell, seenCell, progressCell := text(t, bctx, "#applied-acme-contacts"), text(t, bctx, "#seen-acme-contacts"),
			text(t, bctx, "#progress-acme-contacts")
		screenshot(t, bctx, "opspage-synced")
		n, err := applied()
		if err != nil {
			t.Fatal(err)
		}
		if appliedCell != strconv.Itoa(n) || seenCell != strconv.Itoa(opsContacts) {
			t.Errorf("contacts applied %q, seen %q on the page; the database holds %d, Oro %d", appliedCell, seenCell, n, opsContacts)
		}
		if progressCell != "caught up" {
			t.Errorf("contacts progress %q, want caught up", progressCell)
		}
	})

	t.Run("shows a dead letter with its reason", func(t *testing.T) {
		if err := r.sim.UpdateContact("2", map[string]any{"primaryEmail": "not-an-email"}); err != nil {
			t.Fatal(err)
		}
		tid, oid := uuid.MustParse(defaultTenantID), uuid.MustParse(defaultOrgID)
		r.waitFor(t, "contact 2's dead letter", func() (bool, error) {
			rows, err := status(ctx, r.natsURL, r.dbURL, "acme", []string{"contacts"}, tid, oid)
			return err == nil && rows[0].DeadLetters == 1, err
		})
		if err := chromedp.Do(bctx, chromedp.Navigate(r.pageURL)); err != nil {
			t.Fatal(err)
		}
		count, letters := text(t, bctx, "#deadletters-acme-contacts"), text(t, bctx, "#deadletters-acme")
		screenshot(t, bctx, "opspage-deadletter")
		if count != "1" {
			t.Errorf("contacts' dead letters on the page: %q, want 1", count)
		}
		if !regexp.MustCompile(`transformer\s+contacts\s+2\s+email\s+.*primaryEmail`).MatchString(letters) {
			t.Errorf("the dead letters' table does not show contact 2's stage, rule and reason:\n%s", letters)
		}
	})

	id := makeFieldConflict(t, r)
	t.Run("resolving a conflict from the page changes the database", func(t *testing.T) {
		if err := chromedp.Do(bctx, chromedp.Navigate(r.pageURL)); err != nil {
			t.Fatal(err)
		}
		diff := text(t, bctx, fmt.Sprintf("#conflict-%d", id))
		if !strings.Contains(diff, "jobTitle: Oro's Title / Mercato's Title") {
			t.Errorf("the conflict's row does not show both values: %q", diff)
		}
		screenshot(t, bctx, "opspage-conflict")
		if err := chromedp.Do(bctx,
			chromedp.SetValue(chromedp.CSS(fmt.Sprintf("#resolution-%d", id)), "oro"),
			chromedp.Click(chromedp.CSS(fmt.Sprintf("#resolve-%d button", id)))); err != nil {
			t.Fatal(err)
		}
		done := text(t, bctx, "#done")
		screenshot(t, bctx, "opspage-resolved")
		var status, res, title string
		if err := r.db.QueryRow(ctx, `SELECT status, coalesce(resolution, '') FROM orosync_conflicts WHERE id = $1`, id).Scan(&status, &res); err != nil {
			t.Fatal(err)
		}
		if status != "resolved" || res != "oro" {
			t.Errorf("after resolving from the page (%q): status %q, resolution %q", done, status, res)
		}
		if err := r.db.QueryRow(ctx, `SELECT coalesce(job_title, '') FROM customer_people`+contactOne).Scan(&title); err != nil || title != "Oro's Title" {
			t.Errorf("contact 1's job title after taking Oro's side: %q (%v)", title, err)
		}
	})

	t.Run("runs the connection check", func(t *testing.T) {
		if err := chromedp.Do(bctx, chromedp.Navigate(r.pageURL), chromedp.Click(chromedp.CSS("#check-acme button"))); err != nil {
			t.Fatal(err)
		}
		done, checks := text(t, bctx, "#done"), text(t, bctx, "#checks-acme")
		screenshot(t, bctx, "opspage-checked")
		if !strings.HasPrefix(done, "connection check of acme: ") {
			t.Errorf("after the check the page says %q", done)
		}
		for _, want := range []string{`oro token\s+ok`, `read contacts\s+ok`, `capabilities contacts\s+ok`} {
			if !regexp.MustCompile(want).MatchString(checks) {
				t.Errorf("the check's results lack %q:\n%s", want, checks)
			}
		}
	})

	tripBreaker(t, r)
	t.Run("confirming the tripped breaker from the page releases it", func(t *testing.T) {
		if err := chromedp.Do(bctx, chromedp.Navigate(r.pageURL)); err != nil {
			t.Fatal(err)
		}
		if b := text(t, bctx, "#breaker-acme-contacts"); !strings.Contains(b, "TRIPPED: 30 of 120 would be deleted") {
			t.Errorf("the breaker's row: %q", b)
		}
		screenshot(t, bctx, "opspage-tripped")
		if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#breaker-acme-contacts button"))); err != nil {
			t.Fatal(err)
		}
		if done := text(t, bctx, "#done"); !strings.Contains(done, "released acme/contacts: the next round may delete up to 30 of 120") {
			t.Errorf("after confirming the page says %q", done)
		}
		kv, closeKV, err := reconcilerKV(ctx, r.natsURL)
		if err != nil {
			t.Fatal(err)
		}
		defer closeKV()
		states, err := reconciler.States(ctx, kv, "acme", "contacts")
		if err != nil || len(states) != 1 || !states[0].Breaker.Confirmed || states[0].Breaker.ConfirmedBy != "operator page" {
			t.Errorf("the breaker after confirming from the page: %+v (%v)", states, err)
		}
	})
}

// contactOne selects Oro contact 1's Mercato person.
const contactOne = ` WHERE entity_id = (SELECT internal_entity_id FROM sync_external_id_mappings
  WHERE integration_id = 'sync_orocrm' AND external_id = 'contacts:1')`

// makeFieldConflict edits contact 1's job title in Mercato and in Oro, differently: under the merge policy the
// writer queues a field conflict; its id.
func makeFieldConflict(t *testing.T, r *opsRun) int64 {
	t.Helper()
	if _, err := r.db.Exec(r.ctx, `UPDATE customer_people SET job_title = 'Mercato''s Title', updated_at = now()`+contactOne); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.UpdateContact("1", map[string]any{"jobTitle": "Oro's Title"}); err != nil {
		t.Fatal(err)
	}
	var id int64
	r.waitFor(t, "contact 1's conflict", func() (bool, error) {
		err := r.db.QueryRow(r.ctx, `SELECT id FROM orosync_conflicts WHERE status = 'open' AND source_id = '1'`).Scan(&id)
		return err == nil, err
	})
	return id
}

// tripBreaker deletes a quarter of the contacts in Oro and runs one reconcile round, which finds too many to delete.
func tripBreaker(t *testing.T, r *opsRun) {
	t.Helper()
	for i := 31; i <= 60; i++ {
		if err := r.sim.DeleteContact(strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	err := run(r.ctx, append([]string{"reconcile", "--grace-passes", "1"}, r.args...), io.Discard, io.Discard)
	if !errors.Is(err, reconciler.ErrTooManyDeletes) {
		t.Fatalf("a reconcile round after deleting 30 of %d contacts: %v, want the breaker", opsContacts, err)
	}
}
