package app

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/services/poller/domain"
)

// Published tells the source version (updatedAt and content hash) of each record last published to ORO_RAW (by
// id), so a hash scan publishes only what changed, also across restarts.
type Published interface {
	LastVersions(ctx context.Context, tenant, typ string) (map[string]events.SourceVersion, error)
}

// maxIDsPerRequest bounds filter[id]=a,b,c lists (URL length).
const maxIDsPerRequest = 100

// RunStrategy runs one round of the given strategy.
func (p PollType) RunStrategy(ctx context.Context, s domain.Strategy) error {
	switch s {
	case domain.Keyset, "":
		return p.Run(ctx)
	case domain.AuditLog:
		return p.RunAuditLog(ctx)
	case domain.HashScan:
		return p.RunHashScan(ctx)
	}
	return fmt.Errorf("%s/%s: unknown strategy %q", p.Tenant, p.Type, s)
}

// load reads the cursor and starts it afresh when it belongs to another strategy.
func (p PollType) load(ctx context.Context, s domain.Strategy) (domain.Cursor, error) {
	c, err := p.Cursors.Load(ctx, p.Tenant, p.Type)
	if err != nil {
		return c, err
	}
	if c.Strategy != s {
		c = domain.Cursor{Strategy: s}
	}
	c.Done = 0
	return c, nil
}

func (p PollType) save(ctx context.Context, prev *domain.Cursor, next domain.Cursor) error {
	if reflect.DeepEqual(*prev, next) {
		return nil
	}
	if err := p.Cursors.Save(ctx, p.Tenant, p.Type, next); err != nil {
		return err
	}
	*prev = next
	return nil
}

// RunHashScan reads the whole type in id order and publishes the records whose content hash differs from the
// version last published; a change that did not move the record's updatedAt is stamped to supersede it
// (domain.Supersede). The position in the pass is saved after every acknowledged page, so a crash resumes
// mid-pass; PassedAt records when a pass ended.
func (p PollType) RunHashScan(ctx context.Context) error {
	c, err := p.load(ctx, domain.HashScan)
	if err != nil {
		return err
	}
	last, err := p.Published.LastVersions(ctx, p.Tenant, p.Type)
	if err != nil {
		return fmt.Errorf("%s/%s: reading published versions: %w", p.Tenant, p.Type, err)
	}
	finish := func(c *domain.Cursor) { c.ScanID, c.PassedAt = 0, p.now().UTC() }
	return p.idPass(ctx, &c, finish, func(r *events.RawRecord, serverNow time.Time) bool {
		prev, seen := last[r.ID]
		if seen && prev.PayloadHash == r.PayloadHash {
			return false
		}
		if at, ok := domain.Supersede(r.UpdatedAt, prev.UpdatedAt, serverNow); ok {
			r.UpdatedAt = &at
		}
		last[r.ID] = r.Version()
		return true
	})
}

// PartsScanDue tells whether a type with parts (addresses) needs a parts scan: its delta strategy does not see an
// address written without its owner, so every interval a hash scan (RunHashScan on the parts cursor) reads the
// type again. The first time, right after the type's first full read, it only notes the time.
func PartsScanDue(c domain.Cursor, now time.Time, interval time.Duration) (due, note bool) {
	switch {
	case c.ScanID > 0:
		return true, false // a pass under way resumes
	case c.PassedAt.IsZero():
		return false, true
	}
	return now.Sub(c.PassedAt) >= interval, false
}

// RunAuditLog finds the type's changes in Oro's audit log: ids created or updated since its cursor, fetched in
// batches with filter[id]=a,b,c. The audit log knows only changes made after auditing began, so the first round
// reads every record once in id order (the baseline), after noting where the audit log is to be read from.
func (p PollType) RunAuditLog(ctx context.Context) error {
	c, err := p.load(ctx, domain.AuditLog)
	if err != nil {
		return err
	}
	class, _ := oro.AuditClass(p.Type)
	if class == "" {
		return fmt.Errorf("%s/%s: no audited entity class known for the type", p.Tenant, p.Type)
	}
	if !c.Baseline {
		if c.AuditSince.IsZero() {
			// Changes from here on are the audit log's; the baseline reads the rest as it is now.
			c.AuditSince = p.now().UTC().Add(-p.SafetyLag)
			if err := p.Cursors.Save(ctx, p.Tenant, p.Type, c); err != nil {
				return err
			}
		}
		if err := p.idPass(ctx, &c, func(c *domain.Cursor) { c.ScanID, c.Baseline = 0, true }, nil); err != nil {
			return err
		}
	}
	overlap := p.AuditOverlap
	if overlap <= 0 {
		overlap = time.Minute
	}
	q := oro.AuditQuery{ObjectClass: class, Since: domain.AuditFrom(c, overlap), Limit: 100}
	for q.Page = 1; ; q.Page++ {
		rows, err := p.Audits.Audits(ctx, q)
		if err != nil {
			return fmt.Errorf("%s/%s: audit log since %s page %d: %w", p.Tenant, p.Type, q.Since.Format(time.RFC3339), q.Page, err)
		}
		var ids []string
		var marks []domain.AuditMark
		for _, r := range rows {
			if domain.AuditSeen(c, r.ID) {
				continue
			}
			marks = append(marks, domain.AuditMark{ID: r.ID, At: r.LoggedAt})
			// Removals are the reconciler's (it confirms them against Oro and writes tombstones).
			if r.Action != oro.AuditRemove && !slices.Contains(ids, r.ObjectID) {
				ids = append(ids, r.ObjectID)
			}
		}
		published := 0
		for batch := range slices.Chunk(ids, min(maxIDsPerRequest, max(p.PageSize, 1))) {
			n, err := p.fetchIDs(ctx, batch)
			if err != nil {
				return err
			}
			published += n
		}
		next := domain.AuditAdvance(c, marks, overlap)
		next.Done += int64(published)
		if err := p.save(ctx, &c, next); err != nil {
			return err
		}
		caughtUp := len(rows) < q.Limit
		if p.OnProgress != nil {
			p.OnProgress(Progress{Tenant: p.Tenant, Type: p.Type, Cursor: c, Published: published, Total: -1, CaughtUp: caughtUp})
		}
		if caughtUp {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// fetchIDs reads the given records (a deleted one simply does not come back) and publishes them.
func (p PollType) fetchIDs(ctx context.Context, ids []string) (int, error) {
	page, err := p.Oro.List(ctx, p.Type, oro.Query{Filters: []oro.Filter{{Field: "id", Value: strings.Join(ids, ",")}},
		PageSize: len(ids), NoHateoas: true, Include: p.Include})
	if err != nil {
		return 0, fmt.Errorf("%s/%s: fetching %d changed records: %w", p.Tenant, p.Type, len(ids), err)
	}
	records, dead, _ := p.convert(page, false)
	if err := p.Publisher.PublishRaw(ctx, records, dead); err != nil {
		return 0, fmt.Errorf("publishing %s/%s: %w", p.Tenant, p.Type, err)
	}
	return len(records), nil
}

// idPass reads every record in id order from the cursor's ScanID, publishing those keep accepts (all when keep
// is nil; it may restamp the record, and is given Oro's clock) and saves the position after every acknowledged
// page; finish marks the pass done.
func (p PollType) idPass(ctx context.Context, c *domain.Cursor, finish func(*domain.Cursor), keep func(*events.RawRecord, time.Time) bool) error {
	total := int64(-1)
	for first := true; ; {
		q := oro.Query{Sort: []string{"id"}, PageSize: p.PageSize, NoHateoas: true, Include: p.Include, TotalCount: first}
		if c.ScanID > 0 {
			q.Filters = []oro.Filter{{Field: "id", Op: "gt", Value: strconv.FormatInt(c.ScanID, 10)}}
		}
		page, err := p.Oro.List(ctx, p.Type, q)
		if n, ok := oro.MaxPageSize(err); ok && n < p.PageSize {
			p.log().Info("page size capped by Oro; adapting", "tenant", p.Tenant, "type", p.Type, "from", p.PageSize, "to", n)
			p.PageSize = n
			continue
		}
		if err != nil {
			return fmt.Errorf("scanning %s/%s after id %d: %w", p.Tenant, p.Type, c.ScanID, err)
		}
		if first {
			total = int64(page.Total)
		}
		first = false
		records, dead, rows := p.convert(page, false)
		if keep != nil {
			serverNow := page.ServerTime
			if serverNow.IsZero() {
				serverNow = p.now()
			}
			kept := records[:0]
			for i := range records {
				if keep(&records[i], serverNow) {
					kept = append(kept, records[i])
				}
			}
			records = kept
		}
		if err := p.Publisher.PublishRaw(ctx, records, dead); err != nil {
			return fmt.Errorf("publishing %s/%s page: %w", p.Tenant, p.Type, err)
		}
		next := *c
		for _, r := range rows {
			next.ScanID = max(next.ScanID, r.ID)
		}
		next.Done += int64(len(rows))
		caughtUp := p.PageSize <= 0 || len(page.Data) < p.PageSize
		if caughtUp {
			finish(&next)
		}
		if err := p.save(ctx, c, next); err != nil {
			return err
		}
		if p.OnProgress != nil {
			p.OnProgress(Progress{Tenant: p.Tenant, Type: p.Type, Cursor: *c, Published: len(records), Total: total, CaughtUp: caughtUp})
		}
		if caughtUp {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
