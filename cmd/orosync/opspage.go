package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	writer "github.com/orosync/orosync/services/writer/service"
)

// opsFlags are the operator page's settings: where it listens (empty: no page) and the secret it asks for.
type opsFlags struct {
	addr, token string
}

func (o *opsFlags) register(fs *command) {
	fs.StringVar(&o.addr, "ops-addr", env("OROSYNC_OPS_ADDR", ""), "serve the operator page on this `address` (e.g. 127.0.0.1:9091); empty: no page (OROSYNC_OPS_ADDR)")
	fs.secretVar(&o.token, "ops-token", env("OROSYNC_OPS_TOKEN", ""), "the operator page's `secret`: a bearer token, or the password of basic auth (any user name); prefer the variable, which a process list does not show (OROSYNC_OPS_TOKEN)")
}

// minOpsToken is the shortest secret the page accepts: one that cannot be guessed in the requests an attacker may send.
const minOpsToken = 16

// check refuses a page without a secret, before anything starts.
func (o opsFlags) check() error {
	if o.addr == "" {
		return nil
	}
	if len(o.token) < minOpsToken {
		return fmt.Errorf("--ops-addr %s: the operator page needs a secret of at least %d characters in OROSYNC_OPS_TOKEN (or --ops-token)", o.addr, minOpsToken)
	}
	return nil
}

// opsPage is the operator page: the state of every connection and type, the review queue, the reconciler's
// breakers; the queue's entries are resolved and the breakers released from it.
type opsPage struct {
	natsURL, databaseURL string
	conns                []connection
	services             services // the process's: what the connection check tests
	queue                *writer.ReviewQueue
	checks               *checkRuns
	tmpl                 *template.Template
	log                  *slog.Logger
}

//go:embed opspage.html
var opsPageHTML string

// startOpsPage serves the page on o.addr behind its secret until the returned func is called.
func startOpsPage(ctx context.Context, o opsFlags, natsURL, databaseURL string, conns []connection, svcs services, log *slog.Logger) (func(), error) {
	if o.addr == "" {
		return func() {}, nil
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	scopes := map[string]writer.Scope{}
	for _, c := range conns {
		scopes[c.Name] = c.Scope
	}
	queue, err := writer.OpenReviewQueue(ctx, databaseURL, scopes)
	if err != nil {
		return nil, fmt.Errorf("operator page: %w", err)
	}
	page := &opsPage{natsURL: natsURL, databaseURL: databaseURL, conns: conns, services: svcs, queue: queue, log: log,
		checks: &checkRuns{last: map[string]checkRun{}},
		tmpl:   template.Must(template.New("ops").Funcs(opsFuncs).Parse(opsPageHTML))}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		queue.Close()
		return nil, fmt.Errorf("operator page: listen on %s: %w", o.addr, err)
	}
	srv := httpTimeouts{}.orDefault().server(requireSecret(o.token, page.routes()))
	go func() { _ = srv.Serve(ln) }()
	log.Info("operator page", "url", "http://"+ln.Addr().String()+"/")
	return func() { _ = srv.Close(); queue.Close() }, nil
}

// routes are the page (GET /) and its actions, which only POST, from the page's own origin, may take.
func (p *opsPage) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.show)
	mux.HandleFunc("POST /conflicts/{id}/resolve", p.resolve)
	mux.HandleFunc("POST /breakers/confirm", p.confirm)
	mux.HandleFunc("POST /check", p.check)
	return http.NewCrossOriginProtection().Handler(mux)
}

// requireSecret lets through the requests that carry the secret: "Authorization: Bearer <secret>", or basic auth
// with it as the password; the others get 401 and the browser's login prompt.
func requireSecret(secret string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(secret))
	matches := func(s string) bool {
		got := sha256.Sum256([]byte(s))
		return subtle.ConstantTimeCompare(got[:], want[:]) == 1
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && matches(tok) {
			next.ServeHTTP(w, r)
			return
		}
		if _, pw, ok := r.BasicAuth(); ok && matches(pw) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="orosync operator page", charset="UTF-8"`)
		http.Error(w, "the operator page needs its secret (OROSYNC_OPS_TOKEN): a bearer token or basic auth's password", http.StatusUnauthorized)
	})
}

// operator names who acted from the page: basic auth's user name, else "operator page".
func operator(r *http.Request) string {
	if u, _, ok := r.BasicAuth(); ok && u != "" {
		return u + " (operator page)"
	}
	return "operator page"
}

func (p *opsPage) show(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	v := p.gather(ctx)
	v.Done, v.Failed = r.URL.Query().Get("done"), r.URL.Query().Get("error")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := p.tmpl.Execute(w, v); err != nil {
		p.log.Warn("operator page: rendering", "err", err)
	}
}

// back sends the browser to the page, with what the action did or why it failed.
func back(w http.ResponseWriter, r *http.Request, done string, err error) {
	q := url.Values{}
	if err != nil {
		q.Set("error", err.Error())
	} else {
		q.Set("done", done)
	}
	http.Redirect(w, r, "/?"+q.Encode(), http.StatusSeeOther)
}

func (p *opsPage) resolve(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.Error(w, fmt.Sprintf("conflict id %q is not a number", r.PathValue("id")), http.StatusBadRequest)
		return
	}
	resolution := r.FormValue("resolution")
	if resolution == "" {
		back(w, r, "", fmt.Errorf("conflict %d: no resolution chosen", id))
		return
	}
	if err := p.queue.Resolve(r.Context(), id, resolution); err != nil {
		back(w, r, "", fmt.Errorf("resolving conflict %d as %s: %w", id, resolution, err))
		return
	}
	p.log.Info("conflict resolved from the operator page", "id", id, "resolution", resolution, "by", operator(r))
	back(w, r, fmt.Sprintf("conflict %d resolved: %s", id, resolution), nil)
}

func (p *opsPage) confirm(w http.ResponseWriter, r *http.Request) {
	tenant, typ := r.FormValue("tenant"), r.FormValue("type")
	if !p.hasConnection(tenant) || typ == "" {
		back(w, r, "", fmt.Errorf("releasing a breaker: no connection %q or no type %q", tenant, typ))
		return
	}
	released, err := releaseBreakers(r.Context(), p.natsURL, tenant, typ, operator(r))
	if err == nil && len(released) == 0 {
		err = fmt.Errorf("no tripped breaker for %s/%s", tenant, typ)
	}
	var lines []string
	for _, s := range released {
		lines = append(lines, releasedText(s))
	}
	if err != nil {
		if len(lines) > 0 {
			err = fmt.Errorf("%s; then: %w", strings.Join(lines, "; "), err)
		}
		back(w, r, "", err)
		return
	}
	p.log.Info("breaker released from the operator page", "tenant", tenant, "type", typ, "by", operator(r))
	back(w, r, strings.Join(lines, "; "), nil)
}

func (p *opsPage) hasConnection(name string) bool {
	_, ok := p.connection(name)
	return ok
}

func (p *opsPage) connection(name string) (connection, bool) {
	for _, c := range p.conns {
		if c.Name == name {
			return c, true
		}
	}
	return connection{}, false
}

// checkRuns keeps the latest connection check of each connection, for the page to show.
type checkRuns struct {
	mu   sync.Mutex
	last map[string]checkRun
}

type checkRun struct {
	At             time.Time
	Checks         []connCheck
	Passed, Failed int
}

func (c *checkRuns) get(name string) (checkRun, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.last[name]
	return r, ok
}

func (c *checkRuns) set(name string, r checkRun) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last[name] = r
}

// opsCheckTimeout bounds each part of a connection check run from the page (Oro, the database, NATS), within the
// server's write timeout.
const opsCheckTimeout = 8 * time.Second

// check runs `orosync config check` on one connection, as the process runs it.
func (p *opsPage) check(w http.ResponseWriter, r *http.Request) {
	c, ok := p.connection(r.FormValue("tenant"))
	if !ok {
		back(w, r, "", fmt.Errorf("connection check: no connection %q", r.FormValue("tenant")))
		return
	}
	res := checkRun{At: time.Now().UTC(), Checks: checkConnections(r.Context(), checkConfig{NatsURL: p.natsURL,
		DatabaseURL: p.databaseURL, Connections: []connection{c}, Services: p.services, Timeout: opsCheckTimeout})}
	for _, ch := range res.Checks {
		if ch.OK {
			res.Passed++
		} else {
			res.Failed++
		}
	}
	p.checks.set(c.Name, res)
	back(w, r, fmt.Sprintf("connection check of %s: %d passed, %d failed", c.Name, res.Passed, res.Failed), nil)
}
