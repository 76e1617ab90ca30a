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
	Seed                   int64  // seed of the deterministic seed data
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
}

// Server is a simulated Oro instance; it implements http.Handler.
type Server struct {
	cfg    Config
	base   string
	now    func() time.Time
	log    *slog.Logger
	store  *store
	tokens *tokenStore
}

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
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:    cfg,
		base:   "/" + strings.Trim(cfg.BasePath, "/"),
		now:    cfg.Now,
		log:    cfg.Logger,
		store:  newStore(builtinTypes()),
		tokens: &tokenStore{expiry: map[string]time.Time{}},
	}
	s.store.load("contacts", seedContacts(cfg.Contacts, cfg.Seed, s.clock()))
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
	if _, err := s.store.update("contacts", n, attrs, s.clock()); err != nil {
		return fmt.Errorf("update contact: %w", err)
	}
	return nil
}

// CreateContact adds a contact with the next id and returns that id.
func (s *Server) CreateContact(attrs map[string]any) (string, error) {
	r, err := s.store.create("contacts", attrs, s.clock())
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
	if err := s.store.remove("contacts", n); err != nil {
		return fmt.Errorf("delete contact: %w", err)
	}
	return nil
}

// ContactIDs returns the ids of all contacts in ascending order.
func (s *Server) ContactIDs() []string { return s.store.ids("contacts") }

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
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	s.log.Debug("request", "method", r.Method, "uri", r.RequestURI)
	p := r.URL.Path
	switch {
	case p == "/oauth2-token":
		s.handleToken(w, r)
	case p == "/__admin" || strings.HasPrefix(p, "/__admin/"):
		s.handleAdmin(w, r)
	case p == s.base || strings.HasPrefix(p, s.base+"/"):
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

// readMethods are what the simulator implements on every API route so far.
const readMethods = "OPTIONS, GET, HEAD"

func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	def, ok := s.store.def(parts[0])
	if !ok || parts[0] == "" {
		notAccessible(w)
		return
	}
	switch {
	case len(parts) > 2 || len(parts) == 2 && parts[1] == "":
		// Sub-resources and relationship endpoints are not simulated yet.
		notAccessible(w)
		return
	case r.Method == http.MethodOptions:
		w.Header().Set("Allow", readMethods)
		w.WriteHeader(http.StatusOK)
		return
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		methodNotAllowed(w, r, readMethods)
		return
	}
	if len(parts) == 1 {
		s.handleList(w, r, def)
		return
	}
	s.handleGet(w, r, def, parts[1])
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
	res := s.store.list(def.Name, q)
	inc := xInclude(r)
	if inc["totalCount"] {
		w.Header().Set("X-Include-Total-Count", strconv.Itoa(res.total))
	}
	rd := renderer{base: s.apiRoot(r), links: !inc["noHateoas"], fields: q.fields[def.Name]}
	data := make([]object, len(res.records))
	for i, rec := range res.records {
		data[i] = rd.resource(def, rec)
	}
	doc := object{{"data", data}}
	if rd.links {
		doc = append(object{{"links", collectionLinks(rd.base+"/"+def.Name, r.URL.RawQuery, q.pageNumber, res.hasMore)}}, doc...)
	}
	writeJSON(w, http.StatusOK, mediaType, doc)
}

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
	rd := renderer{base: s.apiRoot(r), links: !xInclude(r)["noHateoas"], fields: q.fields[def.Name]}
	writeJSON(w, http.StatusOK, mediaType, object{{"data", rd.resource(def, rec)}})
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
		srv:    &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second},
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
