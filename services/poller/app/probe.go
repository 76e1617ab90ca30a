package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/services/poller/domain"
)

// AuditReader reads Oro's legacy audit log.
type AuditReader interface {
	Audits(ctx context.Context, q oro.AuditQuery) ([]oro.AuditEntry, error)
}

// OroAPI is what the poller's strategies read from Oro.
type OroAPI interface {
	Lister
	AuditReader
}

// Prober finds out what a connection offers per type. Oro's definite answers (400 filter or sort constraint,
// 403, 404) become capabilities; transient failures (after the client's retries) are errors, so the probe is
// repeated rather than a strategy chosen on a guess.
type Prober struct {
	Oro OroAPI
	// PageSize is the page size wanted (the probe finds out whether Oro accepts it).
	PageSize int
	// WebhookURL is this poller's receiver for the tenant; empty: webhooks are not used.
	WebhookURL string
	Now        func() time.Time
}

// WebhookTopics lists the enabled webhook subscriptions of the connection that deliver to the receiver, by
// topic; note says why there are none.
func (p Prober) WebhookTopics(ctx context.Context) (topics map[string]bool, note string, err error) {
	if p.WebhookURL == "" {
		return nil, "no receiver configured", nil
	}
	page, err := p.Oro.List(ctx, "webhooks", oro.Query{PageSize: -1, NoHateoas: true})
	if status, ok := apiStatus(err); ok && status >= 400 && status < 500 {
		return nil, "webhooks API " + statusNote(status), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("probing webhooks: %w", err)
	}
	topics = map[string]bool{}
	for _, r := range page.Data {
		var url string
		var enabled bool
		_ = json.Unmarshal(r.Attributes["notificationUrl"], &url)
		_ = json.Unmarshal(r.Attributes["enabled"], &enabled)
		if t := r.Relationships["topic"]; enabled && url == p.WebhookURL && len(t.Data) == 1 {
			topics[t.Data[0].ID] = true
		}
	}
	return topics, "", nil
}

// Probe finds the capabilities of one type; topics and webhookNote come from WebhookTopics (one call per
// connection).
func (p Prober) Probe(ctx context.Context, typ string, topics map[string]bool, webhookNote string) (domain.Capabilities, error) {
	c := domain.Capabilities{Type: typ, ProbedAt: p.now().UTC(), MaxPageSize: p.PageSize, PageSizeAsked: p.PageSize}
	// One request answers everything on an instance that supports it all (the usual case: it costs one list
	// call): the wanted page size, the updatedAt filter and sort, on an empty selection (no id below 1).
	_, err := p.Oro.List(ctx, typ, oro.Query{PageSize: p.PageSize, NoHateoas: true, Sort: []string{"updatedAt", "id"},
		Filters: []oro.Filter{{Field: "updatedAt", Op: "gte", Value: "2000-01-01T00:00:00Z"}, {Field: "id", Op: "lt", Value: "1"}}})
	if err == nil {
		c.FilterUpdatedAt, c.SortUpdatedAt = true, true
	} else if !IsBadRequest(err) {
		return c, fmt.Errorf("probing %s: %w", typ, err)
	} else if err := p.probeEach(ctx, &c); err != nil {
		return c, err
	}
	// Audit log: only worth asking for types Oro audits.
	class, audited := oro.AuditClass(typ)
	c.Audited = audited
	if audited {
		_, err := p.Oro.Audits(ctx, oro.AuditQuery{ObjectClass: class, Limit: 1})
		if status, ok := apiStatus(err); ok && status >= 400 && status < 500 {
			c.AuditNote = statusNote(status)
		} else if err != nil {
			return c, fmt.Errorf("probing %s audit log: %w", typ, err)
		} else {
			c.AuditAccess = true
		}
	}
	alias := domain.EntityAlias(typ)
	switch {
	case webhookNote != "":
		c.WebhookNote = webhookNote
	case topics[alias+".created"] && topics[alias+".updated"]:
		c.Webhooks = true
	default:
		c.WebhookNote = "no enabled " + alias + ".created/updated subscription to the receiver"
	}
	return c, nil
}

// probeEach asks page size, updatedAt filter and sort one at a time, so each 400 is unambiguous.
func (p Prober) probeEach(ctx context.Context, c *domain.Capabilities) error {
	typ := c.Type
	_, err := p.Oro.List(ctx, typ, oro.Query{PageSize: p.PageSize, NoHateoas: true, Filters: []oro.Filter{{Field: "id", Op: "lt", Value: "1"}}})
	if n, ok := oro.MaxPageSize(err); ok {
		c.MaxPageSize = n
	} else if err != nil {
		return fmt.Errorf("probing %s page size: %w", typ, err)
	}
	_, err = p.Oro.List(ctx, typ, oro.Query{PageSize: 1, NoHateoas: true,
		Filters: []oro.Filter{{Field: "updatedAt", Op: "gte", Value: "2000-01-01T00:00:00Z"}}})
	if c.FilterUpdatedAt, err = answered(err); err != nil {
		return fmt.Errorf("probing %s filter[updatedAt]: %w", typ, err)
	} else if !c.FilterUpdatedAt {
		c.UpdatedAtNote = "filter[updatedAt]: 400 filter constraint"
	}
	_, err = p.Oro.List(ctx, typ, oro.Query{PageSize: 1, NoHateoas: true, Sort: []string{"updatedAt", "id"}})
	if c.SortUpdatedAt, err = answered(err); err != nil {
		return fmt.Errorf("probing %s sort=updatedAt: %w", typ, err)
	} else if !c.SortUpdatedAt {
		if c.UpdatedAtNote != "" {
			c.UpdatedAtNote += ", "
		}
		c.UpdatedAtNote += "sort=updatedAt: 400 sort constraint"
	}
	return nil
}

// answered turns a list probe's outcome into "works" (200), "does not" (400), or an error.
func answered(err error) (bool, error) {
	if err == nil {
		return true, nil
	}
	if status, ok := apiStatus(err); ok && status == http.StatusBadRequest {
		return false, nil
	}
	return false, err
}

func apiStatus(err error) (int, bool) {
	var ae *oro.APIError
	if errors.As(err, &ae) {
		return ae.Status, true
	}
	return 0, false
}

// IsBadRequest says whether err is Oro's 400 (a poll that gets one re-probes the type).
func IsBadRequest(err error) bool {
	s, ok := apiStatus(err)
	return ok && s == http.StatusBadRequest
}

func statusNote(status int) string {
	switch status {
	case http.StatusForbidden:
		return "403 forbidden"
	case http.StatusNotFound:
		return "404 not found"
	}
	return strconv.Itoa(status) + " " + http.StatusText(status)
}

func (p Prober) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}
