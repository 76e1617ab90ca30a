package orosim

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// legacyError is the FOSRest error body of Oro's legacy REST API.
func legacyError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, "application/json", object{{"code", int64(status)}, {"message", msg}})
}

// handleLegacy serves the legacy REST API under {base}/rest/{latest|v1}/;
// only DataAuditBundle's audits are simulated (reference §8).
func (s *Server) handleLegacy(w http.ResponseWriter, r *http.Request, parts []string) {
	if len(parts) < 3 || len(parts) > 4 || (parts[1] != "latest" && parts[1] != "v1") || parts[2] != "audits" {
		legacyError(w, http.StatusNotFound, "No route found for \""+r.Method+" "+r.URL.Path+"\"")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		legacyError(w, http.StatusMethodNotAllowed, fmt.Sprintf("No route found for \"%s %s\": Method Not Allowed (Allow: GET, HEAD)", r.Method, r.URL.Path))
		return
	}
	if s.faults.current().AuditForbidden {
		legacyError(w, http.StatusForbidden, "Access Denied.")
		return
	}
	entries := s.audit.snapshot()
	if len(parts) == 4 {
		id, err := strconv.ParseInt(parts[3], 10, 64)
		if err != nil || id < 1 || id > int64(len(entries)) {
			legacyError(w, http.StatusNotFound, "Not Found")
			return
		}
		writeJSON(w, http.StatusOK, "application/json", entries[id-1].json())
		return
	}
	q, err := parseAuditQuery(r.URL.RawQuery)
	if err != nil {
		legacyError(w, http.StatusBadRequest, err.Error())
		return
	}
	var out []any
	skip := (q.page - 1) * q.limit
	for _, e := range entries {
		if !q.matches(e) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		out = append(out, e.json())
		if len(out) == q.limit {
			break
		}
	}
	if out == nil {
		out = []any{}
	}
	writeJSON(w, http.StatusOK, "application/json", out)
}

// auditCond is one loggedAt comparison.
type auditCond struct {
	op string
	t  time.Time
}

type auditQuery struct {
	page, limit int
	action      string
	class       string
	user        string
	objectID    string
	loggedAt    []auditCond
}

// auditOps are the comparison operators the legacy API reads out of the raw
// query string (`loggedAt>=2012-10-12T00:01+0000`), longest first.
var auditOps = []string{">=", "<=", "<>", "!=", ">", "<", "="}

// parseAuditQuery reads the legacy filters. The operators are part of the
// raw query string, so it is split by hand; an unencoded "+" in a time
// offset stays a plus.
func parseAuditQuery(raw string) (auditQuery, error) {
	q := auditQuery{page: 1, limit: 10}
	for _, seg := range strings.Split(raw, "&") {
		if seg == "" {
			continue
		}
		dec, err := url.PathUnescape(seg)
		if err != nil {
			return q, fmt.Errorf("malformed query string: %w", err)
		}
		key, op, value := dec, "", ""
		for i := 0; i < len(dec); i++ {
			matched := false
			for _, o := range auditOps {
				if strings.HasPrefix(dec[i:], o) {
					key, op, value = dec[:i], o, dec[i+len(o):]
					matched = true
					break
				}
			}
			if matched {
				break
			}
		}
		switch key {
		case "page", "limit":
			n, err := strconv.Atoi(value)
			if err != nil || op != "=" || n < 1 {
				return q, fmt.Errorf("%s must be a positive integer, %q given", key, value)
			}
			if key == "page" {
				q.page = n
			} else {
				q.limit = n
			}
		case "action":
			q.action = value
		case "objectClass":
			q.class = strings.ReplaceAll(value, `\`, "_")
		case "user":
			q.user = value
		case "objectId":
			q.objectID = value
		case "loggedAt":
			t, err := parseAuditTime(value)
			if err != nil {
				return q, fmt.Errorf("loggedAt: %w", err)
			}
			q.loggedAt = append(q.loggedAt, auditCond{op: op, t: t})
		}
	}
	return q, nil
}

// parseAuditTime accepts ISO 8601 with or without seconds and offset.
func parseAuditTime(v string) (time.Time, error) {
	v = strings.ReplaceAll(v, " ", "+") // a "+" decoded as a space by a form decoder upstream
	for _, layout := range []string{
		time.RFC3339, "2006-01-02T15:04:05-0700", "2006-01-02T15:04-0700", "2006-01-02T15:04Z07:00",
		"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02",
	} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid datetime %q", v)
}

func (q auditQuery) matches(e auditEntry) bool {
	if q.action != "" && e.Action != q.action {
		return false
	}
	if q.class != "" && strings.ReplaceAll(e.Class, `\`, "_") != q.class {
		return false
	}
	if q.user != "" && strconv.FormatInt(e.User, 10) != q.user {
		return false
	}
	if q.objectID != "" && strconv.FormatInt(e.ObjectID, 10) != q.objectID {
		return false
	}
	for _, c := range q.loggedAt {
		d := e.LoggedAt.Compare(c.t)
		ok := false
		switch c.op {
		case ">":
			ok = d > 0
		case ">=":
			ok = d >= 0
		case "<":
			ok = d < 0
		case "<=":
			ok = d <= 0
		case "=":
			ok = d == 0
		case "!=", "<>":
			ok = d != 0
		}
		if !ok {
			return false
		}
	}
	return true
}
