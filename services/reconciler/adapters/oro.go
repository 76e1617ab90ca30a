// Package adapters holds the reconciler's outside world: Oro's API, Mercato's PostgreSQL and JetStream.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"

	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/services/reconciler/domain"
)

// DefaultPageSize is page[size] of an id listing: ids only, so big pages are cheap.
const DefaultPageSize = 1000

// OroLister lists ids with keyset paging on id: filter[id][gt]=<last id>&sort=id&fields[<type>]=id. Offset paging
// would skip a row for every row deleted in front of the reader while it reads, and those rows would then be
// tombstoned although they exist.
type OroLister struct {
	clients  map[string]*oro.Client
	pageSize int
	log      *slog.Logger
}

// NewOroLister needs an Oro client per tenant. pageSize 0 means DefaultPageSize, -1 asks for everything at once
// (Oro may cap it; the listing then goes on page by page).
func NewOroLister(clients map[string]*oro.Client, pageSize int, log *slog.Logger) (*OroLister, error) {
	if len(clients) == 0 {
		return nil, errors.New("oro lister: at least one Oro client is required")
	}
	for tenant, c := range clients {
		if c == nil {
			return nil, fmt.Errorf("oro lister: tenant %q has no Oro client", tenant)
		}
	}
	switch {
	case pageSize == 0:
		pageSize = DefaultPageSize
	case pageSize < -1:
		return nil, fmt.Errorf("oro lister: page size %d: must be positive or -1", pageSize)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &OroLister{clients: clients, pageSize: pageSize, log: log}, nil
}

// ListIDs lists every id of typ; any failed page fails the whole listing.
func (l *OroLister) ListIDs(ctx context.Context, tenant, typ string) (*domain.Listing, error) {
	c, ok := l.clients[tenant]
	if !ok {
		return nil, fmt.Errorf("no Oro client for tenant %q", tenant)
	}
	listing := &domain.Listing{}
	size := l.pageSize
	for pages := 0; ; {
		q := oro.Query{Sort: []string{"id"}, PageSize: size, Fields: map[string][]string{typ: {"id"}}}
		last, more := listing.Last()
		if more {
			q.Filters = []oro.Filter{{Field: "id", Op: "gt", Value: last}}
		}
		page, err := c.List(ctx, typ, q)
		if err != nil {
			if n, ok := pageSizeLimit(err); ok && (size == -1 || n < size) {
				// Oro's max_entities is below our page size: adapt rather than fail.
				l.log.Warn("oro page size too large, adapting", "tenant", tenant, "type", typ, "page_size", size, "max", n)
				size = n
				continue
			}
			return nil, fmt.Errorf("listing %s after %d ids in %d pages: %w", typ, listing.Len(), pages, err)
		}
		pages++
		for _, r := range page.Data {
			if r.Type != typ {
				return nil, fmt.Errorf("listing %s: page %d holds a resource of type %q", typ, pages, r.Type)
			}
			if err := listing.Add(r.ID); err != nil {
				return nil, fmt.Errorf("listing %s: page %d: %w", typ, pages, err)
			}
		}
		// Done on an empty page, or on a short page Oro says nothing follows (links.next is only emitted when
		// more rows exist). A full page without a next link costs one more, empty, request.
		if len(page.Data) == 0 || (page.Next == "" && size > 0 && len(page.Data) < size) {
			return listing, nil
		}
	}
}

var pageSizeLimitRE = regexp.MustCompile(`less than or equals? to (\d+)`)

// pageSizeLimit reads Oro's 400 "The value should be less than or equals to N." about page[size].
func pageSizeLimit(err error) (int, bool) {
	var ae *oro.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		return 0, false
	}
	for _, e := range ae.Errors {
		if e.Source.Parameter != "page[size]" {
			continue
		}
		if m := pageSizeLimitRE.FindStringSubmatch(e.Detail); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
				return n, true
			}
		}
	}
	return 0, false
}
