package adapters

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

// dealLinkSync collects the links deals must end up with.
type dealLinkSync struct {
	wantPeople, wantCompanies map[uuid.UUID]map[uuid.UUID]bool // deal → entity
}

func (l *dealLinkSync) want(r recState[events.Deal], i int, ref refKey, kind string, live bool, found map[refKey]target,
	never map[refKey]bool, out *reconciled) {
	if l.wantPeople == nil {
		l.wantPeople, l.wantCompanies = map[uuid.UUID]map[uuid.UUID]bool{}, map[uuid.UUID]map[uuid.UUID]bool{}
	}
	if !live {
		return
	}
	t, ok := found[ref]
	switch {
	case !ok && !never[ref]:
		out.waiting[i] = append(out.waiting[i], ref.OroRef)
	case ok && t.kind == kind && kind == "person":
		if l.wantPeople[r.id] == nil {
			l.wantPeople[r.id] = map[uuid.UUID]bool{}
		}
		l.wantPeople[r.id][t.id] = true
	case ok && t.kind == kind && kind == "company":
		if l.wantCompanies[r.id] == nil {
			l.wantCompanies[r.id] = map[uuid.UUID]bool{}
		}
		l.wantCompanies[r.id][t.id] = true
	}
}

func dealLinkID(deal, entity uuid.UUID) uuid.UUID {
	return rowkit.NameID([]byte("deal-link/" + deal.String() + "/" + entity.String()))
}

const currentDealLinksSQL = `
SELECT 'person', id, deal_id, person_entity_id FROM customer_deal_people WHERE deal_id = ANY($1::uuid[])
UNION ALL
SELECT 'company', id, deal_id, company_entity_id FROM customer_deal_companies WHERE deal_id = ANY($1::uuid[])
ORDER BY 2`

const insertDealPeopleSQL = `
INSERT INTO customer_deal_people (id, created_at, deal_id, person_entity_id)
SELECT v.id, $4, v.deal, v.entity FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS v(id, deal, entity) ORDER BY v.id
ON CONFLICT DO NOTHING RETURNING deal_id`

const insertDealCompaniesSQL = `
INSERT INTO customer_deal_companies (id, created_at, deal_id, company_entity_id)
SELECT v.id, $4, v.deal, v.entity FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS v(id, deal, entity) ORDER BY v.id
ON CONFLICT DO NOTHING RETURNING deal_id`

func sortedIDs(m map[uuid.UUID]bool) []string {
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id.String())
	}
	sort.Strings(out)
	return out
}

// exec brings the links in line and returns, per deal whose links changed, a digest of its new link set.
func (l *dealLinkSync) exec(ctx context.Context, tx pgx.Tx, rs []recState[events.Deal], now time.Time) (map[uuid.UUID]string, error) {
	var deals []uuid.UUID
	for _, r := range rs {
		if !r.st.Missing {
			deals = append(deals, r.id)
		}
	}
	if len(deals) == 0 {
		return nil, nil
	}
	changed := map[uuid.UUID]bool{}
	have, err := l.removeDropped(ctx, tx, deals, changed)
	if err != nil {
		return nil, err
	}
	for _, kind := range []string{"person", "company"} {
		if err := l.insert(ctx, tx, kind, deals, have[kind], changed, now); err != nil {
			return nil, err
		}
	}
	out := map[uuid.UUID]string{}
	for deal := range changed {
		out[deal] = rowkit.Digest([]any{sortedIDs(l.wantPeople[deal]), sortedIDs(l.wantCompanies[deal])})
	}
	return out, nil
}

// removeDropped deletes the links orosync made that the deals no longer want (noting those deals in changed),
// and returns the links the deals have, per kind, deal and entity.
func (l *dealLinkSync) removeDropped(ctx context.Context, tx pgx.Tx, deals []uuid.UUID, changed map[uuid.UUID]bool) (
	map[string]map[uuid.UUID]map[uuid.UUID]bool, error) {
	rows, err := tx.Query(ctx, currentDealLinksSQL, rowkit.UUIDs(deals))
	if err != nil {
		return nil, fmt.Errorf("writer: loading deal links: %w", err)
	}
	defer rows.Close()
	have := map[string]map[uuid.UUID]map[uuid.UUID]bool{"person": {}, "company": {}}
	del := map[string][]uuid.UUID{}
	for rows.Next() {
		var kind string
		var id, deal, entity uuid.UUID
		if err := rows.Scan(&kind, &id, &deal, &entity); err != nil {
			return nil, fmt.Errorf("writer: loading deal links: %w", err)
		}
		if have[kind][deal] == nil {
			have[kind][deal] = map[uuid.UUID]bool{}
		}
		have[kind][deal][entity] = true
		if id == dealLinkID(deal, entity) && !l.wants(kind)[deal][entity] { // only links orosync made
			del[kind] = append(del[kind], id)
			changed[deal] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: loading deal links: %w", err)
	}
	rows.Close()
	for _, kt := range [][2]string{{"person", "customer_deal_people"}, {"company", "customer_deal_companies"}} {
		if len(del[kt[0]]) == 0 {
			continue
		}
		if _, err := tx.Exec(ctx, `DELETE FROM `+kt[1]+` WHERE id = ANY($1::uuid[])`, rowkit.UUIDs(del[kt[0]])); err != nil {
			return nil, fmt.Errorf("writer: removing deal links: %w", err)
		}
	}
	return have, nil
}

func (l *dealLinkSync) wants(kind string) map[uuid.UUID]map[uuid.UUID]bool {
	if kind == "company" {
		return l.wantCompanies
	}
	return l.wantPeople
}

// insert adds the links of one kind the deals want and do not have, noting the deals it changed.
func (l *dealLinkSync) insert(ctx context.Context, tx pgx.Tx, kind string, deals []uuid.UUID, have map[uuid.UUID]map[uuid.UUID]bool,
	changed map[uuid.UUID]bool, now time.Time) error {
	sql := insertDealPeopleSQL
	if kind == "company" {
		sql = insertDealCompaniesSQL
	}
	want := l.wants(kind)
	var ids, ds, es []uuid.UUID
	for _, deal := range deals {
		for entity := range want[deal] {
			if !have[deal][entity] {
				ids, ds, es = append(ids, dealLinkID(deal, entity)), append(ds, deal), append(es, entity)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, sql, rowkit.UUIDs(ids), rowkit.UUIDs(ds), rowkit.UUIDs(es), now)
	if err != nil {
		return fmt.Errorf("writer: writing deal links: %w", err)
	}
	written, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return fmt.Errorf("writer: writing deal links: %w", err)
	}
	for _, deal := range written {
		changed[deal] = true
	}
	return nil
}
