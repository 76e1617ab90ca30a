// Package orosim simulates OroCRM's back-office JSON:API (/api) and OAuth2
// token endpoint for tests and demos. It reproduces Oro's wire format and
// quirks (error documents, filter syntax, paging links, 401 with an empty
// body) rather than an idealised JSON:API, so that a client that works
// against the simulator works against a real Oro.
package orosim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Config configures a simulated Oro instance.
type Config struct {
	ClientID, ClientSecret string // OAuth2 client credentials accepted
	Contacts               int    // number of seeded contacts
	// Counts seeds the other types (JSON:API type → number of records), e.g.
	// {"accounts": 200, "opportunities": 300, "tasks": 500}. With Counts set,
	// users (5), organizations (1), businessunits (1), accounts (a fifth of
	// the contacts) and the contacts' addresses are seeded unless given;
	// "contacts" here overrides Contacts; "contactaddresses" above what the
	// contacts hold adds addresses to them (at most three a contact). Nil seeds
	// contacts only. CRMCounts gives the counts of a real instance.
	Counts map[string]int
	Seed   int64 // seed of the deterministic seed data
	// MaxEntities mirrors oro_api.max_entities: 0 or -1 means unlimited (Oro's
	// default); N > 0 rejects page[size] > N with a 400 and silently caps
	// page[size]=-1 to N.
	MaxEntities int
	Now         func() time.Time // clock for tokens, Date headers and timestamps; default time.Now
	TokenTTL    time.Duration    // access token lifetime; default 3600s
	BasePath    string           // API prefix; default "/api" ("/admin/api" on Commerce installs)
	// RejectRawOperators makes `filter[x]>=v` a 400. Oro 6.1 dropped that
	// syntax (platform CHANGELOG 6.1.0) and no longer honours it; the
	// simulator fails loudly instead so a client cannot come to depend on it.
	RejectRawOperators bool
	Logger             *slog.Logger // default: discard
	// Users are the back-office users for the password grant, username to
	// password; user ids follow the sorted usernames from 1. Default:
	// admin/admin.
	Users map[string]string
	// Sleep waits between webhook delivery attempts; default: a timer.
	// Tests pass one that records the wait and returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// WebhookClient sends webhook deliveries; default: a client that does
	// not follow redirects and honours each webhook's verifySsl.
	WebhookClient *http.Client
	// Faults are injected from the start; SetFaults changes them later.
	Faults Faults
}

// Server is a simulated Oro instance; it implements http.Handler.
type Server struct {
	cfg    Config
	base   string
	now    func() time.Time
	log    *slog.Logger
	store  *store
	tokens *tokenStore

	faults   *faultState
	requests *requestCounter
	audit    *auditStore
	hooks    *webhookState
}

// adminUser is the id of the user behind writes made through the Go API and
// the admin endpoints (Oro's first user, admin).
const adminUser = 1

// New creates a simulator seeded from cfg.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 3600 * time.Second
	}
	if cfg.BasePath == "" {
		cfg.BasePath = "/api"
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.Users == nil {
		cfg.Users = map[string]string{"admin": "admin"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:    cfg,
		base:   "/" + strings.Trim(cfg.BasePath, "/"),
		now:    cfg.Now,
		log:    cfg.Logger,
		store:  newStore(builtinTypes()),
		tokens: newTokenStore(),

		faults:   newFaultState(cfg.Faults, cfg.Seed),
		requests: &requestCounter{n: map[string]int{}},
		audit:    newAuditStore(),
	}
	s.hooks = newWebhookState(s)
	if n, ok := cfg.Counts["contacts"]; ok {
		s.cfg.Contacts = n
	}
	accounts := max(1, s.cfg.Contacts/5)
	if n, ok := cfg.Counts["accounts"]; ok && n > 0 {
		accounts = n
	}
	contacts := seedContactsIn(s.cfg.Contacts, accounts, cfg.Seed, s.clock())
	if cfg.Counts != nil {
		counts := map[string]int{"users": 5, "organizations": 1, "businessunits": 1,
			"accounts": accounts, "contactaddresses": 1}
		for k, v := range cfg.Counts {
			counts[k] = v
		}
		counts["contacts"] = len(contacts)
		for typ, recs := range seedCRM(counts, cfg.Seed, s.clock(), contacts) {
			if _, ok := s.store.cols[typ]; ok {
				s.store.load(typ, recs)
			}
		}
	}
	s.store.load("contacts", contacts)
	return s
}

// clock is the current time at Oro's storage precision (whole seconds, UTC).
func (s *Server) clock() time.Time { return s.now().UTC().Truncate(time.Second) }

// UpdateContact changes attributes (and relationships, given as JSON:API
// linkage) of a contact; updatedAt becomes now, as Oro sets it on every write.
func (s *Server) UpdateContact(id string, attrs map[string]any) error {
	n, err := parseID(id)
	if err != nil {
		return fmt.Errorf("update contact %q: %w", id, err)
	}
	if _, err := s.updateRecord("contacts", n, attrs, adminUser); err != nil {
		return fmt.Errorf("update contact: %w", err)
	}
	return nil
}

// CreateContact adds a contact with the next id and returns that id.
func (s *Server) CreateContact(attrs map[string]any) (string, error) {
	r, err := s.createRecord("contacts", attrs, adminUser)
	if err != nil {
		return "", fmt.Errorf("create contact: %w", err)
	}
	return r.idString(), nil
}

// DeleteContact removes a contact for good; Oro has no soft delete.
func (s *Server) DeleteContact(id string) error {
	n, err := parseID(id)
	if err != nil {
		return fmt.Errorf("delete contact %q: %w", id, err)
	}
	if err := s.removeRecord("contacts", n, adminUser); err != nil {
		return fmt.Errorf("delete contact: %w", err)
	}
	return nil
}

// ContactIDs returns the ids of all contacts in ascending order.
func (s *Server) ContactIDs() []string { return s.store.ids("contacts") }

// UpdatedAt is a record's updatedAt attribute, as a list shows it (ok false: no such record, or no updatedAt). It
// reads the store: no request is counted.
func (s *Server) UpdatedAt(typ, id string) (time.Time, bool) {
	n, err := parseID(id)
	if err != nil {
		return time.Time{}, false
	}
	r, ok := s.store.get(typ, n)
	if !ok {
		return time.Time{}, false
	}
	at, ok := r.Attrs["updatedAt"].(time.Time)
	return at.UTC().Truncate(time.Second), ok // lists render whole seconds
}

// Count returns the number of records of a JSON:API type (0 if unknown).
func (s *Server) Count(typ string) int { return s.store.count(typ) }

func parseID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: id %q is not an integer", ErrNotFound, id)
	}
	return n, nil
}

// ServeHTTP routes /oauth2-token, the API under BasePath and /__admin/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The poller caps its cursor with the server's Date, so it must come from
	// the simulated clock, not from net/http's wall clock.
	w.Header().Set("Date", s.now().Add(s.faults.current().ClockSkew).UTC().Format(http.TimeFormat))
	s.log.Debug("request", "method", r.Method, "uri", r.RequestURI)
	p := r.URL.Path
	if p == "/__admin" || strings.HasPrefix(p, "/__admin/") {
		s.handleAdmin(w, r)
		return
	}
	s.requests.add(r.Method + " " + s.endpointPattern(p))
	api := p == s.base || strings.HasPrefix(p, s.base+"/")
	if s.proxyFaults(w, r, api) {
		return
	}
	switch {
	case p == "/oauth2-token":
		s.handleToken(w, r)
	case api:
		if !s.authorized(w, r) {
			return
		}
		s.handleAPI(w, r, strings.TrimPrefix(p, s.base))
	default:
		writeErrors(w, http.StatusNotFound, apiError{Status: "404", Title: "not found http exception", Detail: "No route found for \"" + r.Method + " " + p + "\""})
	}
}

func notAccessible(w http.ResponseWriter) {
	writeErrors(w, http.StatusNotFound, apiError{Status: "404", Title: "resource not accessible exception", Detail: "The resource is not accessible."})
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	writeErrors(w, http.StatusMethodNotAllowed, apiError{
		Status: "405", Title: "method not allowed http exception",
		Detail: fmt.Sprintf("No route found for \"%s %s\": Method Not Allowed (Allow: %s)", r.Method, r.URL.Path, allow),
	})
}

// Methods Oro allows on a collection and on a single resource.
const (
	listMethods = "OPTIONS, GET, HEAD, POST, PATCH, DELETE"
	itemMethods = "OPTIONS, GET, HEAD, PATCH, DELETE"
)

func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	switch parts[0] {
	case "rest":
		s.handleLegacy(w, r, parts)
		return
	case "webhooks":
		s.handleWebhooksAPI(w, r, parts)
		return
	case "userprofile":
		if len(parts) == 1 {
			s.handleUserProfile(w, r)
			return
		}
	}
	if _, ok := enumCatalog[parts[0]]; ok {
		s.handleEnum(w, r, parts[0], parts)
		return
	}
	def, ok := s.store.def(parts[0])
	if !ok || parts[0] == "" || len(parts) == 2 && parts[1] == "" {
		notAccessible(w)
		return
	}
	if len(parts) > 2 {
		s.handleRelated(w, r, def, parts)
		return
	}
	allow := listMethods
	if len(parts) == 2 {
		allow = itemMethods
	}
	switch r.Method {
	case http.MethodOptions:
		w.Header().Set("Allow", allow)
		w.WriteHeader(http.StatusOK)
	case http.MethodGet, http.MethodHead:
		if len(parts) == 1 {
			s.handleList(w, r, def)
		} else {
			s.handleGet(w, r, def, parts[1])
		}
	case http.MethodPost:
		if len(parts) == 2 {
			methodNotAllowed(w, r, allow)
			return
		}
		s.handleCreate(w, r, def)
	case http.MethodPatch:
		if len(parts) == 1 {
			s.handleBatch(w, r, def)
			return
		}
		if id, ok := pathID(w, parts[1]); ok {
			s.handleUpdate(w, r, def, id)
		}
	case http.MethodDelete:
		if len(parts) == 1 {
			s.handleDeleteList(w, r, def)
			return
		}
		if id, ok := pathID(w, parts[1]); ok {
			s.handleDelete(w, r, def, id)
		}
	default:
		methodNotAllowed(w, r, allow)
	}
}

// pathID parses the {id} of a route, answering 400 like Oro when it is not
// an integer.
func pathID(w http.ResponseWriter, raw string) (int64, bool) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{
			Status: "400", Title: "entity identifier constraint",
			Detail: fmt.Sprintf("Expected integer value. Given %q.", raw),
		})
		return 0, false
	}
	return id, true
}

// handleDeleteList is DELETE /api/{type}?filter[...]: deletes every match;
// Oro refuses it without a filter.
func (s *Server) handleDeleteList(w http.ResponseWriter, r *http.Request, def *typeDef) {
	q, errs := parseRequest(def, parseQuery(r.URL.RawQuery), s.parseOptions(true))
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	if len(q.conds) == 0 {
		writeErrors(w, http.StatusBadRequest, apiError{Status: "400", Title: "filter constraint", Detail: "At least one filter must be provided."})
		return
	}
	q.limit, q.offset = -1, 0
	user := s.requestUser(r)
	for _, rec := range s.store.list(def.Name, q).records {
		_ = s.removeRecord(def.Name, rec.ID, user)
	}
	w.WriteHeader(http.StatusNoContent)
}

// xInclude parses the X-Include request header ("totalCount;noHateoas").
func xInclude(r *http.Request) map[string]bool {
	out := map[string]bool{}
	for _, h := range r.Header.Values("X-Include") {
		for _, v := range strings.FieldsFunc(h, func(c rune) bool { return c == ';' || c == ',' }) {
			out[strings.TrimSpace(v)] = true
		}
	}
	return out
}

// apiRoot is the absolute URL of the API, built from the request's Host like
// Oro's HATEOAS links.
func (s *Server) apiRoot(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.base
}

func (s *Server) parseOptions(list bool) parseOptions {
	return parseOptions{list: list, maxEntities: s.cfg.MaxEntities, noRawOps: s.cfg.RejectRawOperators}
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request, def *typeDef) {
	q, errs := parseRequest(def, parseQuery(r.URL.RawQuery), s.parseOptions(true))
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	inc := xInclude(r)
	q.countTotal = inc["totalCount"]
	res := s.store.list(def.Name, q)
	if inc["totalCount"] {
		w.Header().Set("X-Include-Total-Count", strconv.Itoa(res.total))
	}
	rd := renderer{base: s.apiRoot(r), links: !inc["noHateoas"], fields: q.fields, title: q.metaTitle}
	data := make([]object, len(res.records))
	for i, rec := range res.records {
		data[i] = rd.resource(def, rec)
	}
	doc := object{{"data", data}}
	if len(q.include) > 0 {
		doc = append(doc, member{"included", s.included(rd, def, res.records, q.include)})
	}
	if rd.links {
		doc = append(object{{"links", collectionLinks(rd.base+"/"+def.Name, r.URL.RawQuery, q.pageNumber, res.hasMore)}}, doc...)
	}
	// Sized for a typical resource up front: growing a multi-megabyte
	// buffer by doubling copies it over and over.
	body, err := appendJSON(make([]byte, 0, 2048*(len(data)+1)), doc)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.writeList(w, mediaType, body)
	s.drift(def)
}

// drift is the DriftEditsPerPage fault: after a page, other users edit
// random records of the type.
func (s *Server) drift(def *typeDef) {
	n := s.faults.current().DriftEditsPerPage
	if n <= 0 {
		return
	}
	for range n {
		ids := s.store.count(def.Name)
		if ids == 0 {
			return
		}
		rec, ok := s.store.at(def.Name, s.faults.intN(ids))
		if !ok {
			continue
		}
		attrs := map[string]any{}
		if _, ok := def.attr("description"); ok {
			attrs["description"] = "Edited while a client paged (" + s.clock().Format(oroDateTime) + ")"
		}
		_, _ = s.updateRecord(def.Name, rec.ID, attrs, driftUser)
	}
}

// driftUser is the user behind drift edits: somebody else than the client.
const driftUser = 2

// collectionLinks builds Oro's top-level links: self, first and prev from
// page 2 on, next only when more rows exist, never last. Page 1 links carry
// no page[number]; other parameters are kept, normalized and sorted.
func collectionLinks(collection, rawQuery string, page int, hasMore bool) object {
	var pairs []normalizedPair
	for _, p := range normalizeQuery(rawQuery) {
		if p.key != "page[number]" {
			pairs = append(pairs, p)
		}
	}
	pageURL := func(n int) string {
		ps := pairs
		if n > 1 {
			ps = append(append([]normalizedPair(nil), pairs...), normalizedPair{key: "page[number]", text: "page%5Bnumber%5D=" + strconv.Itoa(n)})
			ps = sortPairs(ps)
		}
		if len(ps) == 0 {
			return collection
		}
		return collection + "?" + joinPairs(ps)
	}
	links := object{{"self", collection}}
	if page > 1 {
		links = append(links, member{"first", pageURL(1)}, member{"prev", pageURL(page - 1)})
	}
	if hasMore {
		links = append(links, member{"next", pageURL(page + 1)})
	}
	return links
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, def *typeDef, rawID string) {
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{
			Status: "400", Title: "entity identifier constraint",
			Detail: fmt.Sprintf("Expected integer value. Given %q.", rawID),
		})
		return
	}
	q, errs := parseRequest(def, parseQuery(r.URL.RawQuery), s.parseOptions(false))
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	rec, ok := s.store.get(def.Name, id)
	if !ok {
		writeErrors(w, http.StatusNotFound, apiError{
			Status: "404", Title: "not found http exception",
			Detail: "An entity with the requested identifier does not exist.",
		})
		return
	}
	rd := renderer{base: s.apiRoot(r), links: !xInclude(r)["noHateoas"], fields: q.fields, title: q.metaTitle}
	doc := object{{"data", rd.resource(def, rec)}}
	if len(q.include) > 0 {
		doc = append(doc, member{"included", s.included(rd, def, []*record{rec}, q.include)})
	}
	writeJSON(w, http.StatusOK, mediaType, doc)
}

// Running is a simulator listening on a TCP address.
type Running struct {
	*Server
	URL string // base URL, e.g. http://127.0.0.1:8081

	srv *http.Server
}

// Start serves a new simulator on addr until ctx is cancelled or Close is
// called. Use "127.0.0.1:0" for a free port.
func Start(ctx context.Context, cfg Config, addr string) (*Running, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("orosim: listen %s: %w", addr, err)
	}
	s := New(cfg)
	run := &Running{
		Server: s,
		URL:    "http://" + ln.Addr().String(),
		// A client may hold a connection only so long: headers, request, response (a page of every record can take
		// minutes to write) and idle keep-alive each have a bound.
		srv: &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute},
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := run.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("orosim serve", "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = run.Close()
		case <-served:
		}
	}()
	s.log.Info("orosim listening", "url", run.URL, "contacts", cfg.Contacts)
	return run, nil
}

// Close shuts the listener down, waiting up to five seconds for requests.
func (r *Running) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("orosim: shutdown: %w", err)
	}
	return nil
}
