package oro

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/orosync/orosync/events/redact"
)

// Oro's data audit lives only in the legacy REST API (reference §8):
// GET {base}/rest/latest/audits with page, limit, action, objectClass and
// loggedAt comparisons written into the query string (loggedAt>=…).

// AuditClass is the entity class DataAuditBundle records for a JSON:API
// type, and whether Oro audits that type out of the box (Contact, Account,
// Opportunity, Lead, Case and Task are dataaudit.auditable; Call and Note
// are not, so their changes and deletes never reach the audit log).
func AuditClass(typ string) (class string, audited bool) {
	switch typ {
	case "contacts":
		return `Oro\Bundle\ContactBundle\Entity\Contact`, true
	case "accounts":
		return `Oro\Bundle\AccountBundle\Entity\Account`, true
	case "opportunities":
		return `Oro\Bundle\SalesBundle\Entity\Opportunity`, true
	case "leads":
		return `Oro\Bundle\SalesBundle\Entity\Lead`, true
	case "cases":
		return `Oro\Bundle\CaseBundle\Entity\CaseEntity`, true
	case "tasks":
		return `Oro\Bundle\TaskBundle\Entity\Task`, true
	case "calls":
		return `Oro\Bundle\CallBundle\Entity\Call`, false
	case "notes":
		return `Oro\Bundle\NoteBundle\Entity\Note`, false
	case "b2bcustomers":
		return `Oro\Bundle\SalesBundle\Entity\B2bCustomer`, false
	case "emails":
		return `Oro\Bundle\EmailBundle\Entity\Email`, false
	case "users":
		return `Oro\Bundle\UserBundle\Entity\User`, false
	}
	return "", false
}

// Audit actions.
const (
	AuditCreate = "create"
	AuditUpdate = "update"
	AuditRemove = "remove"
)

// AuditEntry is one row of Oro's audit log.
type AuditEntry struct {
	ID          int64
	Action      string // create, update, remove
	Version     int
	ObjectClass string // with backslashes, as Oro stores it
	ObjectName  string
	ObjectID    string
	LoggedAt    time.Time
	// Fields are the audited fields the entry changed (empty for remove).
	Fields []string
}

// AuditQuery selects audit rows. Zero values leave a filter out.
type AuditQuery struct {
	Action      string
	ObjectClass string    // e.g. AuditClass("contacts"); sent with underscores
	Since       time.Time // loggedAt >= Since
	Before      time.Time // loggedAt < Before
	Page        int       // from 1
	Limit       int       // rows per page; default 100
}

const defaultAuditLimit = 100

// rawQuery writes the legacy filter syntax; the comparison operators belong
// to the query string itself, so it is built by hand. A "+" in a time offset
// is escaped, since a form decoder would read it as a space.
func (q AuditQuery) rawQuery() string {
	page, limit := q.Page, q.Limit
	if page < 1 {
		page = 1
	}
	if limit < 1 {
		limit = defaultAuditLimit
	}
	parts := []string{"page=" + strconv.Itoa(page), "limit=" + strconv.Itoa(limit)}
	if q.Action != "" {
		parts = append(parts, "action="+q.Action)
	}
	if q.ObjectClass != "" {
		parts = append(parts, "objectClass="+strings.ReplaceAll(q.ObjectClass, `\`, "_"))
	}
	stamp := func(t time.Time) string {
		return strings.ReplaceAll(t.UTC().Format("2006-01-02T15:04:05-0700"), "+", "%2B")
	}
	if !q.Since.IsZero() {
		parts = append(parts, "loggedAt>="+stamp(q.Since))
	}
	if !q.Before.IsZero() {
		parts = append(parts, "loggedAt<"+stamp(q.Before))
	}
	return strings.Join(parts, "&")
}

// Audits fetches one page of the audit log. A 403 (the API user lacks
// oro_dataaudit_view) comes back as an *APIError with IsForbidden true.
func (c *Client) Audits(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	what := fmt.Sprintf("oro: list audits page %d", max(q.Page, 1))
	u := c.endpoint("rest", "latest", "audits")
	u.RawQuery = q.rawQuery()
	hdr := http.Header{"Accept": {"application/json"}}
	var out []AuditEntry
	if _, err := c.fetch(ctx, u, hdr, func(body []byte) (err error) {
		out, err = parseAudits(body)
		return err
	}); err != nil {
		return nil, fmt.Errorf("%s: GET %s: %w", what, redact.URL(u.String()), err)
	}
	return out, nil
}

// AllAudits pages through every row q selects (from q.Page on) until a
// short page. Rows are yielded in the order Oro returns them (id order);
// a row written while paging shows up on a later page, never in between.
func (c *Client) AllAudits(ctx context.Context, q AuditQuery) iter.Seq2[AuditEntry, error] {
	return func(yield func(AuditEntry, error) bool) {
		if q.Page < 1 {
			q.Page = 1
		}
		if q.Limit < 1 {
			q.Limit = defaultAuditLimit
		}
		for {
			page, err := c.Audits(ctx, q)
			if err != nil {
				yield(AuditEntry{}, err)
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
			}
			if len(page) < q.Limit {
				return
			}
			q.Page++
		}
	}
}

// IsForbidden reports whether err is Oro's 403 (e.g. no audit access).
func IsForbidden(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusForbidden
}

type auditRow struct {
	ID          json.Number     `json:"id"`
	Action      string          `json:"action"`
	Version     json.Number     `json:"version"`
	ObjectClass string          `json:"objectClass"`
	ObjectName  string          `json:"objectName"`
	ObjectID    json.RawMessage `json:"objectId"`
	LoggedAt    string          `json:"loggedAt"`
	Data        json.RawMessage `json:"data"`
}

// parseAudits decodes the legacy list (a JSON array). Every row must carry
// an id, an action, an object id and a loggedAt; anything else is a decode
// error naming the row and field.
func parseAudits(body []byte) ([]AuditEntry, error) {
	var rows []auditRow
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&rows); err != nil {
		return nil, fmt.Errorf("audit list: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("audit list: trailing data after the array")
	}
	out := make([]AuditEntry, 0, len(rows))
	for i, r := range rows {
		id, err := r.ID.Int64()
		if err != nil {
			return nil, fmt.Errorf("audit row %d: id %q: not an integer", i, r.ID)
		}
		if r.Action == "" {
			return nil, fmt.Errorf("audit row %d (id %d): action missing", i, id)
		}
		oid := strings.Trim(string(r.ObjectID), `"`)
		if oid == "" || oid == "null" {
			return nil, fmt.Errorf("audit row %d (id %d): objectId missing", i, id)
		}
		at, err := parseAuditTime(r.LoggedAt)
		if err != nil {
			return nil, fmt.Errorf("audit row %d (id %d): loggedAt: %w", i, id, err)
		}
		e := AuditEntry{ID: id, Action: r.Action, ObjectClass: r.ObjectClass, ObjectName: r.ObjectName, ObjectID: oid, LoggedAt: at}
		if v, err := r.Version.Int64(); err == nil {
			e.Version = int(v)
		}
		// PHP writes an empty map as [].
		var fields map[string]json.RawMessage
		if len(r.Data) > 0 && r.Data[0] == '{' && json.Unmarshal(r.Data, &fields) == nil {
			for f := range fields {
				e.Fields = append(e.Fields, f)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func parseAuditTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date-time", v)
}
