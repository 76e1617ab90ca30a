// Package app holds the poller's use case: read one Oro type forward from its cursor and publish every version.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"sync"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/services/poller/domain"
)

// Lister reads pages from Oro.
type Lister interface {
	List(ctx context.Context, typ string, q oro.Query) (*oro.Page, error)
}

// Publisher publishes a page of raw records (and dead letters) and returns only when JetStream acknowledged every
// one of them.
type Publisher interface {
	PublishRaw(ctx context.Context, records []events.RawRecord, deadLetters []events.DeadLetter) error
}

// CursorStore keeps a cursor per tenant and type.
type CursorStore interface {
	Load(ctx context.Context, tenant, typ string) (domain.Cursor, error)
	Save(ctx context.Context, tenant, typ string, c domain.Cursor) error
}

// Progress is reported after every page.
type Progress struct {
	Tenant, Type string
	Cursor       domain.Cursor
	Published    int   // records on this page
	Total        int64 // Oro's total count at the start of the run, -1 if unknown
	CaughtUp     bool
}

// PollType reads one type of one tenant until caught up.
type PollType struct {
	Oro       Lister
	Publisher Publisher
	Cursors   CursorStore
	Tenant    string
	Type      string
	PageSize  int
	// SafetyLag keeps the cursor this far behind Oro's clock, so a record whose transaction commits late is not
	// skipped.
	SafetyLag  time.Duration
	Now        func() time.Time
	OnProgress func(Progress)
	Log        *slog.Logger

	// The audit-log and hash-scan strategies (strategies.go) also need these.
	Audits AuditReader
	// Published tells what was last published per record (hash scan).
	Published Published
	// Include lists relationships fetched with each record (include=…).
	Include []string
	// AuditOverlap is how far before its cursor each audit-log read starts again; default 1 minute.
	AuditOverlap time.Duration
}

// Run pages until the type is caught up (a page came back empty) or ctx is done. The cursor is saved after
// every page, and only after every publish of that page was acknowledged: a crash repeats at most one page, and
// the repeats carry the same Nats-Msg-Id.
func (p PollType) Run(ctx context.Context) error {
	c, err := p.Cursors.Load(ctx, p.Tenant, p.Type)
	if err != nil {
		return err
	}
	if c.Strategy != "" && c.Strategy != domain.Keyset {
		c = domain.Cursor{} // switched from another strategy: its position means nothing here
	}
	c.Done = 0
	phase := domain.Forward // also on resume: the inclusive bound re-reads the cursor's second
	total := int64(-1)
	// The upper bound comes from Oro's clock (the Date header of the last response), so clock skew between us and
	// Oro cannot make the cursor run ahead of records Oro has not finished writing.
	serverNow := p.now()
	// The next page is requested while the current one is being published (its plan depends only on the
	// page's rows, not on the publish): Oro's and JetStream's round trips overlap. The cursor is still saved
	// only after the current page's acknowledgements.
	pctx, cancelPrefetch := context.WithCancel(ctx)
	defer cancelPrefetch()
	first := true
	fetch := func(c domain.Cursor, phase domain.Phase) <-chan fetched {
		plan := domain.Next(c, phase, p.PageSize, serverNow.Add(-p.SafetyLag))
		plan.Query.TotalCount = first
		plan.Query.NoHateoas = true
		plan.Query.Include = p.Include
		out := make(chan fetched, 1)
		go func() {
			page, err := p.Oro.List(pctx, p.Type, plan.Query)
			out <- fetched{plan: plan, page: page, err: err}
		}()
		return out
	}
	pending := fetch(c, phase)
	for {
		f := <-pending
		plan, page, err := f.plan, f.page, f.err
		if n, ok := oro.MaxPageSize(err); ok && n < p.PageSize {
			// The instance caps page[size] (oro_api.max_entities): adapt and ask again.
			p.log().Info("page size capped by Oro; adapting", "tenant", p.Tenant, "type", p.Type, "from", p.PageSize, "to", n)
			p.PageSize = n
			pending = fetch(c, phase)
			continue
		}
		if err != nil {
			return fmt.Errorf("polling %s/%s after %s id %d: %w", p.Tenant, p.Type, c.UpdatedAt.Format(time.RFC3339), c.LastID, err)
		}
		if first {
			total = int64(page.Total)
		}
		first = false
		if !page.ServerTime.IsZero() {
			serverNow = page.ServerTime
		}
		full := p.PageSize > 0 && len(page.Data) >= p.PageSize
		if plan.Phase != domain.Ties {
			page.Data = fresh(c, page.Data)
		}
		// The next page's plan needs only the rows' ids and updatedAt: request it before hashing this page, so
		// hashing overlaps Oro's round trip too and the request leaves as soon as the budget has a slot.
		next, nextPhase, caughtUp, advErr := domain.Advance(c, plan.Phase, rowsOf(page.Data), full)
		if advErr == nil && !caughtUp {
			pending = fetch(next, nextPhase)
		}
		records, dead, _ := p.convert(page, true)
		if err := p.Publisher.PublishRaw(ctx, records, dead); err != nil {
			return fmt.Errorf("publishing %s/%s page: %w", p.Tenant, p.Type, err)
		}
		if advErr != nil {
			return fmt.Errorf("%s/%s: %w", p.Tenant, p.Type, advErr)
		}
		if !reflect.DeepEqual(next, c) {
			if err := p.Cursors.Save(ctx, p.Tenant, p.Type, next); err != nil {
				return err
			}
		}
		c, phase = next, nextPhase
		if p.OnProgress != nil {
			p.OnProgress(Progress{Tenant: p.Tenant, Type: p.Type, Cursor: c, Published: len(records), Total: total, CaughtUp: caughtUp})
		}
		if caughtUp {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// fetched is a page requested ahead.
type fetched struct {
	plan domain.Plan
	page *oro.Page
	err  error
}

// rowsOf is the keyset position of every resource that moves the cursor: those with a usable id and updatedAt
// (the rows convert returns with needUpdatedAt).
func rowsOf(data []oro.Resource) []domain.Row {
	rows := make([]domain.Row, 0, len(data))
	for _, r := range data {
		id, err := domain.ParseID(r.ID)
		if err != nil {
			continue
		}
		if at, ok := r.UpdatedAt(); ok {
			rows = append(rows, domain.Row{ID: id, UpdatedAt: at.UTC()})
		}
	}
	return rows
}

// fresh drops the boundary rows an inclusive Forward page returns again (rows without a usable id or updatedAt
// are kept: they go to the dead-letter stream).
func fresh(c domain.Cursor, data []oro.Resource) []oro.Resource {
	out := data[:0:0]
	for _, r := range data {
		id, err := domain.ParseID(r.ID)
		at, ok := r.UpdatedAt()
		if err == nil && ok && !domain.Fresh(c, domain.Row{ID: id, UpdatedAt: at.UTC()}) {
			continue
		}
		out = append(out, r)
	}
	return out
}

func (p PollType) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

func (p PollType) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// convert turns a page into raw records; a resource that cannot be one (no usable id or updatedAt) becomes a
// dead letter naming the field, and the rest of the page proceeds. Only records that are valid move the cursor.
func (p PollType) convert(page *oro.Page, needUpdatedAt bool) ([]events.RawRecord, []events.DeadLetter, []domain.Row) {
	now := p.now().UTC()
	included := make(map[oro.Identifier]json.RawMessage, len(page.Included))
	for _, r := range page.Included {
		included[r.Identifier()] = r.Raw
	}
	var (
		records []events.RawRecord
		dead    []events.DeadLetter
		rows    []domain.Row
	)
	hashes := hashAll(page.Data)
	for i, r := range page.Data {
		ref := events.RecordRef{Tenant: p.Tenant, Type: p.Type, ID: r.ID}
		if r.Invalid != nil {
			// Read by id and updatedAt only (oro's isolateTooDeep): the cursor moves past it.
			dl := events.DeadLetter{Stage: "poller", Record: &ref, Field: "resource", Rule: "max-depth", FailedAt: now,
				Reason: fmt.Sprintf("%s %s: %v; the record stays in Oro (GET /api/%s/%s)", p.Type, r.ID, r.Invalid, p.Type, r.ID)}
			dl.SetPayload(r.Raw)
			dead = append(dead, dl)
			if id, err := domain.ParseID(r.ID); err == nil {
				if at, ok := r.UpdatedAt(); ok || !needUpdatedAt {
					rows = append(rows, domain.Row{ID: id, UpdatedAt: at.UTC()})
				}
			}
			continue
		}
		rec, row, field, err := p.recordOf(r, ref, included, now, needUpdatedAt, hashes[i])
		if err != nil {
			dl := events.DeadLetter{Stage: "poller", Record: &ref, Field: field, Rule: "required", Reason: err.Error(), FailedAt: now}
			dl.SetPayload(r.Raw)
			dead = append(dead, dl)
			if row.ID > 0 && (!needUpdatedAt || !row.UpdatedAt.IsZero()) {
				rows = append(rows, row)
			}
			continue
		}
		records = append(records, rec)
		rows = append(rows, row)
	}
	return records, dead, rows
}

var errNoUpdatedAt = errors.New("no valid updatedAt")

func (p PollType) record(r oro.Resource, ref events.RecordRef, included map[oro.Identifier]json.RawMessage, now time.Time) (events.RawRecord, domain.Row, string, error) {
	return p.recordOf(r, ref, included, now, true, hashed{})
}

// hashed is a resource's content hash computed ahead (ok false: not yet).
type hashed struct {
	hash string
	err  error
	ok   bool
}

// hashAll hashes a page's resources on every core: canonicalising JSON is most of the poller's CPU per record.
func hashAll(data []oro.Resource) []hashed {
	out := make([]hashed, len(data))
	workers := min(runtime.GOMAXPROCS(0), len(data)/64)
	if workers < 2 {
		hashRange(data, out, 0, len(data))
		return out
	}
	var wg sync.WaitGroup
	chunk := (len(data) + workers - 1) / workers
	for lo := 0; lo < len(data); lo += chunk {
		hi := min(lo+chunk, len(data))
		wg.Go(func() { hashRange(data, out, lo, hi) })
	}
	wg.Wait()
	return out
}

// hashRange hashes data[lo:hi] into out with one Hasher, whose parser and buffers serve every resource.
func hashRange(data []oro.Resource, out []hashed, lo, hi int) {
	var h events.Hasher
	for i := lo; i < hi; i++ {
		if data[i].Invalid != nil {
			continue // not decoded: dead-lettered, never hashed
		}
		sum, err := h.ValidResourceHash(data[i].Raw) // ParseDocument checked the page
		out[i] = hashed{hash: sum, err: err, ok: true}
	}
}

// recordOf builds the raw record of r; with needUpdatedAt false (strategies that do not page on it) a record
// without updatedAt is published without one.
func (p PollType) recordOf(r oro.Resource, ref events.RecordRef, included map[oro.Identifier]json.RawMessage, now time.Time, needUpdatedAt bool, pre hashed) (events.RawRecord, domain.Row, string, error) {
	id, err := domain.ParseID(r.ID)
	if err != nil {
		return events.RawRecord{}, domain.Row{}, "id", fmt.Errorf("%s %s: %w", p.Type, r.ID, err)
	}
	at, ok := r.UpdatedAt()
	if !ok && needUpdatedAt {
		return events.RawRecord{}, domain.Row{}, "attributes.updatedAt", fmt.Errorf("%s %s: %w", p.Type, r.ID, errNoUpdatedAt)
	}
	row := domain.Row{ID: id, UpdatedAt: at.UTC()}
	hash, err := pre.hash, pre.err
	if !pre.ok {
		hash, err = events.ResourceHash(r.Raw)
	}
	if err != nil {
		return events.RawRecord{}, row, "resource", fmt.Errorf("%s %s: %w", p.Type, r.ID, err)
	}
	var updated *time.Time
	if ok {
		updated = &at
	}
	rec, err := events.NewRawRecord(ref, r.Raw, hash, updated, includedOf(r, included), now, "poll")
	if err != nil {
		return events.RawRecord{}, row, "included", fmt.Errorf("%s %s: %w", p.Type, r.ID, err)
	}
	return rec, row, "", nil
}

// includedOf lists the included resources r points to, in the order of its relationships.
func includedOf(r oro.Resource, included map[oro.Identifier]json.RawMessage) []json.RawMessage {
	var inc []json.RawMessage
	for _, ref := range r.Refs() {
		if raw, ok := included[ref]; ok {
			inc = append(inc, raw)
		}
	}
	return inc
}
