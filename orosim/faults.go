package orosim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults are failures the simulator injects to test a client's resilience.
// Real Oro has no rate limit (reference §7); the 429s, 5xx, latency and cut
// bodies stand for the proxies and load balancers in front of it. The zero
// value injects nothing. Random choices come from Config.Seed.
type Faults struct {
	// RateLimitPerMinute limits requests per client (the bearer token's
	// client id, otherwise the remote address) in a sliding 60 s window of
	// Config.Now; excess requests get 429 with Retry-After in seconds.
	RateLimitPerMinute int `json:"rateLimitPerMinute"`
	// ErrorRate is the share of API requests answered 500, 502 or 503 (503
	// with Retry-After).
	ErrorRate float64 `json:"errorRate"`
	// Latency is added before each API response (real time: it is the fault).
	Latency time.Duration `json:"latency"`
	// TruncateRate is the share of 200 list responses whose body is cut in
	// half; no Content-Length is sent and the connection is closed.
	TruncateRate float64 `json:"truncateRate"`
	// MalformedRate is the share of 200 list responses with invalid JSON.
	MalformedRate float64 `json:"malformedRate"`
	// ClockSkew is added to the Date header.
	ClockSkew time.Duration `json:"clockSkew"`
	// AuditForbidden answers the legacy audit endpoint with 403.
	AuditForbidden bool `json:"auditForbidden"`
	// DriftEditsPerPage edits that many random records of the listed type
	// after each list page is served (updatedAt bumps): records edited while
	// a client pages.
	DriftEditsPerPage int `json:"driftEditsPerPage"`
	// DeepRecords ("contacts/42") are listed with one more attribute,
	// deepValue, nested DeepLevels arrays deep: a JSON custom field gone
	// wrong, deeper than JSON decoders go (10,000 levels for Go's).
	DeepRecords []string `json:"deepRecords,omitempty"`
}

// DeepLevels is how deep a DeepRecords value is nested.
const DeepLevels = 10_001

// faultState holds the active faults, their random source and the rate
// limiter's windows.
type faultState struct {
	mu     sync.Mutex
	f      Faults
	rng    *rand.Rand
	window map[string][]time.Time // per client: times of admitted requests in the last minute
}

func newFaultState(f Faults, seed int64) *faultState {
	return &faultState{
		f:      f,
		rng:    rand.New(rand.NewPCG(uint64(seed)^0x5eed_fa17, uint64(seed)+0xfa17)),
		window: map[string][]time.Time{},
	}
}

// SetFaults replaces the active faults; the rate limiter starts afresh.
func (s *Server) SetFaults(f Faults) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.f = f
	s.faults.window = map[string][]time.Time{}
}

// Faults returns the active faults.
func (s *Server) Faults() Faults {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.f
}

func (fs *faultState) current() Faults {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.f
}

// chance draws one deterministic coin with probability p.
func (fs *faultState) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.rng.Float64() < p
}

func (fs *faultState) intN(n int) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.rng.IntN(n)
}

// admit records a request of client at now, or returns how long the client
// must wait when its last minute is full.
func (fs *faultState) admit(client string, now time.Time) (wait time.Duration, ok bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	limit := fs.f.RateLimitPerMinute
	if limit <= 0 {
		return 0, true
	}
	ts := fs.window[client]
	cutoff := now.Add(-time.Minute)
	i := 0
	for i < len(ts) && !ts[i].After(cutoff) {
		i++
	}
	ts = ts[i:]
	if len(ts) >= limit {
		fs.window[client] = ts
		return ts[0].Add(time.Minute).Sub(now), false
	}
	fs.window[client] = append(ts, now)
	return 0, true
}

// retryAfter renders a wait as whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(secs, 1), 10)
}

// rateClient names the client a request is counted against: the client id
// of a known bearer token, else the remote host.
func (s *Server) rateClient(r *http.Request) string {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") {
		if info, ok := s.tokens.lookup(strings.TrimSpace(tok)); ok {
			return "client:" + info.clientID
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "addr:" + host
}

// proxyFaults applies the faults of the layer in front of Oro. It reports
// whether the request was answered.
func (s *Server) proxyFaults(w http.ResponseWriter, r *http.Request, api bool) bool {
	f := s.faults.current()
	if wait, ok := s.faults.admit(s.rateClient(r), s.now()); !ok {
		w.Header().Set("Retry-After", retryAfter(wait))
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("<html><body><h1>429 Too Many Requests</h1></body></html>\n"))
		return true
	}
	if !api {
		return false
	}
	if f.Latency > 0 {
		time.Sleep(f.Latency)
	}
	if s.faults.chance(f.ErrorRate) {
		status := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[s.faults.intN(3)]
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html><body><h1>" + strconv.Itoa(status) + " " + http.StatusText(status) + "</h1></body></html>\n"))
		return true
	}
	return false
}

// writeList writes a 200 list body, possibly damaged by the body faults.
func (s *Server) writeList(w http.ResponseWriter, contentType string, body []byte) {
	f := s.faults.current()
	switch {
	case s.faults.chance(f.TruncateRate):
		writeTruncated(w, contentType, body[:len(body)/2])
		return
	case s.faults.chance(f.MalformedRate):
		body = append(body[:len(body)/2:len(body)/2], `,,"oops":}`...)
	}
	for _, rec := range f.DeepRecords {
		body = deepen(body, rec)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// deepen gives the resource typ/id of a list body a deepValue attribute nested DeepLevels deep.
func deepen(body []byte, rec string) []byte {
	typ, id, ok := strings.Cut(rec, "/")
	if !ok {
		return body
	}
	start := bytes.Index(body, []byte(`{"type":"`+typ+`","id":"`+id+`",`))
	if start < 0 {
		return body
	}
	attrs := bytes.Index(body[start:], []byte(`"attributes":{`))
	if attrs < 0 {
		return body
	}
	at := start + attrs + len(`"attributes":{`)
	value := `"deepValue":` + strings.Repeat("[", DeepLevels) + strings.Repeat("]", DeepLevels) + ","
	return append(body[:at:at], append([]byte(value), body[at:]...)...)
}

// writeTruncated sends a 200 with part of a body and closes the connection,
// like a proxy that lost its upstream: no Content-Length, no chunking, so the
// client sees a clean end of stream after half a document.
func writeTruncated(w http.ResponseWriter, contentType string, part []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(part)
		return
	}
	date := w.Header().Get("Date")
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	writeRawResponse(buf.Writer, contentType, date, part)
}

func writeRawResponse(bw *bufio.Writer, contentType, date string, part []byte) {
	_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: " + contentType + "\r\nDate: " + date + "\r\nConnection: close\r\n\r\n")
	_, _ = bw.Write(part)
	_ = bw.Flush()
}

// requestCounter counts requests per "METHOD /path-pattern".
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[key]++
}

// Requests returns how many requests each endpoint received, keyed by
// "METHOD /path-pattern": "GET /api/contacts", "GET /api/contacts/{id}",
// "POST /oauth2-token", "GET /api/rest/latest/audits". Admin requests are
// not counted.
func (s *Server) Requests() map[string]int {
	s.requests.mu.Lock()
	defer s.requests.mu.Unlock()
	out := make(map[string]int, len(s.requests.n))
	for k, v := range s.requests.n {
		out[k] = v
	}
	return out
}

// endpointPattern maps an API path to its route pattern.
func (s *Server) endpointPattern(p string) string {
	if p == "/oauth2-token" || !strings.HasPrefix(p, s.base+"/") {
		return p
	}
	rest := strings.Split(strings.TrimPrefix(p, s.base+"/"), "/")
	if len(rest) >= 3 && rest[0] == "rest" {
		// Legacy REST: /api/rest/latest/audits[/{id}]
		out := s.base + "/rest/" + rest[1] + "/" + rest[2]
		if len(rest) > 3 {
			out += "/{id}"
		}
		return out
	}
	out := s.base + "/" + rest[0]
	if len(rest) >= 2 {
		out += "/{id}"
	}
	if len(rest) >= 4 && rest[2] == "relationships" {
		out += "/relationships/" + rest[3]
	} else if len(rest) >= 3 {
		out += "/" + rest[2]
	}
	return out
}

// UnmarshalJSON accepts latency and clockSkew as nanoseconds (what
// encoding/json writes for a time.Duration) or as strings like "250ms".
func (f *Faults) UnmarshalJSON(b []byte) error {
	type plain Faults
	var aux struct {
		*plain
		Latency   json.RawMessage `json:"latency"`
		ClockSkew json.RawMessage `json:"clockSkew"`
	}
	aux.plain = (*plain)(f)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return err
	}
	for _, d := range []struct {
		raw json.RawMessage
		dst *time.Duration
	}{{aux.Latency, &f.Latency}, {aux.ClockSkew, &f.ClockSkew}} {
		if len(d.raw) == 0 || string(d.raw) == "null" {
			continue
		}
		var s string
		if json.Unmarshal(d.raw, &s) == nil {
			v, err := time.ParseDuration(s)
			if err != nil {
				return err
			}
			*d.dst = v
			continue
		}
		var n int64
		if err := json.Unmarshal(d.raw, &n); err != nil {
			return err
		}
		*d.dst = time.Duration(n)
	}
	return nil
}
