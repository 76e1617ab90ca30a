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

// exec brings the links in line and returns, per deal whose links changed, a digest of its new link set.
func (l *dealLinkSync) exec(ctx context.Context, tx pgx.Tx, rs []recState[events.Deal], now time.Time) (map[uuid.UUID]string, error) {
	var deals []uuid.UUID
	for _, r := range rs {
		if !r.st.Missing {
			deals = append(deals, r.id)
		}
	}
	changed := map[uuid.UUID]bool{}
	if len(deals) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, currentDealLinksSQL, rowkit.UUIDs(deals))
	if err != nil {
		return nil, fmt.Errorf("writer: loading deal links: %w", err)
	}
	have := map[string]map[uuid.UUID]map[uuid.UUID]bool{"person": {}, "company": {}}
	var delPeople, delCompanies []uuid.UUID
	for rows.Next() {
		var kind string
		var id, deal, entity uuid.UUID
		if err := rows.Scan(&kind, &id, &deal, &entity); err != nil {
			rows.Close()
			return nil, fmt.Errorf("writer: loading deal links: %w", err)
		}
		want := l.wantPeople
		if kind == "company" {
			want = l.wantCompanies
		}
		if have[kind][deal] == nil {
			have[kind][deal] = map[uuid.UUID]bool{}
		}
		have[kind][deal][entity] = true
		if id == dealLinkID(deal, entity) && !want[deal][entity] { // only links orosync made
			if kind == "person" {
				delPeople = append(delPeople, id)
			} else {
				delCompanies = append(delCompanies, id)
			}
			changed[deal] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: loading deal links: %w", err)
	}
	if len(delPeople) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM customer_deal_people WHERE id = ANY($1::uuid[])`, rowkit.UUIDs(delPeople)); err != nil {
			return nil, fmt.Errorf("writer: removing deal links: %w", err)
		}
	}
	if len(delCompanies) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM customer_deal_companies WHERE id = ANY($1::uuid[])`, rowkit.UUIDs(delCompanies)); err != nil {
			return nil, fmt.Errorf("writer: removing deal links: %w", err)
		}
	}
	for _, kind := range []string{"person", "company"} {
		want, sql := l.wantPeople, insertDealPeopleSQL
		if kind == "company" {
			want, sql = l.wantCompanies, insertDealCompaniesSQL
		}
		var ids, ds, es []uuid.UUID
		for _, deal := range deals {
			for entity := range want[deal] {
				if !have[kind][deal][entity] {
					ids, ds, es = append(ids, dealLinkID(deal, entity)), append(ds, deal), append(es, entity)
				}
			}
		}
		if len(ids) == 0 {
			continue
		}
		rows, err := tx.Query(ctx, sql, rowkit.UUIDs(ids), rowkit.UUIDs(ds), rowkit.UUIDs(es), now)
		if err != nil {
			return nil, fmt.Errorf("writer: writing deal links: %w", err)
		}
		for rows.Next() {
			var deal uuid.UUID
			if err := rows.Scan(&deal); err != nil {
				rows.Close()
				return nil, fmt.Errorf("writer: writing deal links: %w", err)
			}
			changed[deal] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("writer: writing deal links: %w", err)
		}
	}
	out := map[uuid.UUID]string{}
	for deal := range changed {
		out[deal] = rowkit.Digest([]any{sortedIDs(l.wantPeople[deal]), sortedIDs(l.wantCompanies[deal])})
	}
	return out, nil
}

func sortedIDs(m map[uuid.UUID]bool) []string {
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id.String())
	}
	sort.Strings(out)
	return out
}
