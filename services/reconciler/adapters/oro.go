// Package adapters holds the reconciler's outside world: Oro's API, Mercato's PostgreSQL and JetStream.
package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/services/reconciler/domain"
)

// DefaultPageSize is the page[size] an id listing tries first: ids only, so big pages are cheap. An instance whose
// max_entities is lower answers 400 with its limit, and the listing goes on with that.
const DefaultPageSize = 10000

// FetchBatch is how many records one fetch request asks for (filter[id]=a,b,...).
const FetchBatch = 100

// Oro lists ids, fetches records and reads the audit log of every tenant's Oro.
type Oro struct {
	clients  map[string]*oro.Client
	pageSize int
	log      *slog.Logger

	mu     sync.Mutex
	probed map[string]int // tenant/type → page size the instance accepted
	// idsOnly are the tenant/types whose listing refused updatedAt in its fieldset: listed by id alone.
	idsOnly map[string]bool
}

// NewOro needs an Oro client per tenant. pageSize 0 means DefaultPageSize, -1 asks for everything at once (Oro
// may cap it silently: the total count then shows the page is short, and the listing fails as incomplete).
func NewOro(clients map[string]*oro.Client, pageSize int, log *slog.Logger) (*Oro, error) {
	if len(clients) == 0 {
		return nil, errors.New("oro: at least one Oro client is required")
	}
	for tenant, c := range clients {
		if c == nil {
			return nil, fmt.Errorf("oro: tenant %q has no Oro client", tenant)
		}
	}
	switch {
	case pageSize == 0:
		pageSize = DefaultPageSize
	case pageSize < -1:
		return nil, fmt.Errorf("oro: page size %d: must be positive or -1", pageSize)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Oro{clients: clients, pageSize: pageSize, log: log, probed: map[string]int{}, idsOnly: map[string]bool{}}, nil
}

func (o *Oro) client(tenant string) (*oro.Client, error) {
	c, ok := o.clients[tenant]
	if !ok {
		return nil, fmt.Errorf("no Oro client for tenant %q", tenant)
	}
	return c, nil
}

// ListIDs lists every id of typ, with its updatedAt (fields[typ]=id,updatedAt: the same calls as ids alone), with
// keyset paging on id (filter[id][gt]=<last>&sort=id, with X-Include: totalCount) and hands each page to page in
// ascending order. Offset paging would skip a row for every row deleted in front of the reader, and those rows would
// then be tombstoned although they exist. A type without updatedAt is listed without it; one whose listing Oro
// refuses with updatedAt in the fieldset (400) is listed by id alone from then on. It returns nil only when the
// listing is complete: every page came back, and each page's ids match Oro's count of the ids after the cursor
// (domain.CheckPage). last is the highest id handed on so far.
func (o *Oro) ListIDs(ctx context.Context, tenant, typ string, last func() (uint64, bool), page func([]domain.Listed) error) (pages int, err error) {
	c, err := o.client(tenant)
	if err != nil {
		return 0, err
	}
	key := tenant + "/" + typ
	o.mu.Lock()
	size, ok := o.probed[key]
	idsOnly := o.idsOnly[key]
	o.mu.Unlock()
	if !ok {
		size = o.pageSize
	}
	listed := make([]domain.Listed, 0, max(size, 0))
	for {
		fields := []string{"id", "updatedAt"}
		if idsOnly {
			fields = fields[:1]
		}
		q := oro.Query{Sort: []string{"id"}, PageSize: size, Fields: map[string][]string{typ: fields}, TotalCount: true, NoHateoas: true}
		if n, ok := last(); ok {
			q.Filters = []oro.Filter{{Field: "id", Op: "gt", Value: strconv.FormatUint(n, 10)}}
		}
		p, err := c.List(ctx, typ, q)
		if err != nil {
			if n, ok := oro.MaxPageSize(err); ok && (size == -1 || n < size) {
				o.log.Info("oro caps the page size (max_entities); listing on with its limit", "tenant", tenant, "type", typ, "page_size", size, "max", n)
				size = n
				o.mu.Lock()
				o.probed[key] = n
				o.mu.Unlock()
				continue
			}
			if !idsOnly && badRequest(err) {
				o.log.Info("Oro refuses updatedAt in the id listing's fieldset; listing ids alone", "tenant", tenant, "type", typ, "err", err)
				idsOnly = true
				o.mu.Lock()
				o.idsOnly[key] = true
				o.mu.Unlock()
				continue
			}
			return pages, fmt.Errorf("%w: listing %s after %d pages: %w", domain.ErrIncomplete, typ, pages, err)
		}
		pages++
		listed = listed[:0]
		for _, r := range p.Data {
			if r.Type != typ {
				return pages, fmt.Errorf("%w: listing %s: page %d holds a resource of type %q", domain.ErrIncomplete, typ, pages, r.Type)
			}
			at, _ := r.UpdatedAt()
			listed = append(listed, domain.Listed{ID: r.ID, UpdatedAt: at.UTC()})
		}
		done, err := domain.CheckPage(len(listed), p.Total, size)
		if err != nil {
			return pages, fmt.Errorf("listing %s: page %d: %w", typ, pages, err)
		}
		if err := page(listed); err != nil {
			return pages, fmt.Errorf("listing %s: page %d: %w", typ, pages, err)
		}
		if done {
			return pages, nil
		}
		if err := ctx.Err(); err != nil {
			return pages, err
		}
	}
}

// Fetch reads records by id (filter[id]=a,b,...), FetchBatch a request, and turns them into raw records exactly
// as the poller does (same body, hash and message id), so a record the poller also publishes is stored once. As
// in the poller's id-ordered reads, updatedAt is optional (Oro's emails have none; the version is then the hash
// alone). A record that cannot be one (an id that is no subject token, say) becomes a dead letter naming the
// field. Ids Oro no longer has are left out.
func (o *Oro) Fetch(ctx context.Context, tenant, typ string, ids []uint64, now time.Time) ([]events.RawRecord, []events.DeadLetter, error) {
	c, err := o.client(tenant)
	if err != nil {
		return nil, nil, err
	}
	var (
		recs []events.RawRecord
		dead []events.DeadLetter
	)
	size := FetchBatch
	o.mu.Lock()
	if n, ok := o.probed[tenant+"/"+typ]; ok && n > 0 {
		size = min(size, n)
	}
	o.mu.Unlock()
	for start := 0; start < len(ids); {
		batch := ids[start:min(start+size, len(ids))]
		list := make([]string, len(batch))
		for i, n := range batch {
			list[i] = strconv.FormatUint(n, 10)
		}
		p, err := c.List(ctx, typ, oro.Query{Filters: []oro.Filter{{Field: "id", Value: strings.Join(list, ",")}},
			Sort: []string{"id"}, PageSize: len(batch), NoHateoas: true, Include: oro.Parts(typ)})
		if n, ok := oro.MaxPageSize(err); ok && n < len(batch) {
			size = n // max_entities below the batch: ask for fewer at a time
			continue
		}
		if err != nil {
			return recs, dead, fmt.Errorf("fetching %d %s: %w", len(batch), typ, err)
		}
		start += len(batch)
		included := make(map[oro.Identifier]json.RawMessage, len(p.Included))
		for _, r := range p.Included {
			included[r.Identifier()] = r.Raw
		}
		for _, r := range p.Data {
			ref := events.RecordRef{Tenant: tenant, Type: typ, ID: r.ID}
			rec, field, err := rawRecord(r, ref, included, now)
			if err != nil {
				dl := events.DeadLetter{Stage: Stage, Record: &ref, Field: field, Rule: "required", Reason: err.Error(), FailedAt: now.UTC()}
				dl.SetPayload(r.Raw)
				dead = append(dead, dl)
				continue
			}
			recs = append(recs, rec)
		}
	}
	return recs, dead, nil
}

func rawRecord(r oro.Resource, ref events.RecordRef, included map[oro.Identifier]json.RawMessage, now time.Time) (events.RawRecord, string, error) {
	if !events.ValidToken(r.ID) {
		return events.RawRecord{}, "id", fmt.Errorf("%s %q: id is not a subject token", ref.Type, r.ID)
	}
	hash, err := events.ResourceHash(r.Raw)
	if err != nil {
		return events.RawRecord{}, "resource", fmt.Errorf("%s %s: %w", ref.Type, r.ID, err)
	}
	var updated *time.Time
	if at, ok := r.UpdatedAt(); ok {
		updated = &at
	}
	var inc []json.RawMessage
	for _, id := range r.Refs() {
		if raw, ok := included[id]; ok {
			inc = append(inc, raw)
		}
	}
	rec, err := events.NewRawRecord(ref, json.RawMessage(r.Raw), hash, updated, inc, now, "poll")
	if err != nil {
		return events.RawRecord{}, "included", fmt.Errorf("%s %s: %w", ref.Type, r.ID, err)
	}
	return rec, "", nil
}

// Removed yields the remove entries Oro's audit log holds for typ since the given time, in Oro's (id) order. A 403
// (no oro_dataaudit_view) is returned as the iterator's error; oro.IsForbidden tells it.
func (o *Oro) Removed(ctx context.Context, tenant, typ string, since time.Time) iter.Seq2[oro.AuditEntry, error] {
	c, err := o.client(tenant)
	if err != nil {
		return func(yield func(oro.AuditEntry, error) bool) { yield(oro.AuditEntry{}, err) }
	}
	class, _ := oro.AuditClass(typ)
	return c.AllAudits(ctx, oro.AuditQuery{Action: oro.AuditRemove, ObjectClass: class, Since: since, Limit: 100})
}

// badRequest says whether Oro answered 400.
func badRequest(err error) bool {
	var ae *oro.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusBadRequest
}
