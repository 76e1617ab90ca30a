package adapters

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
)

// An interaction's linked_entities label of a deal is the deal's title. Mercato stores the label its form had
// when the link was made and never refreshes it (no command or subscriber touches linked_entities), so a label
// depends on when the interaction was written; for orosync that would be arrival order. Labels are kept at the
// deal's current title instead: a deal renamed relabels the interactions that link it (a native update: no event,
// updated_at untouched), and an interaction written reads the title as committed. A per-tenant advisory lock, shared
// by interaction writes (taken before their rows) and exclusive for a relabel, orders the two, so neither misses
// the other's commit.

func labelLockKey(tenant string) string { return "orosync-deal-labels/" + tenant }

// lockLabelsShared is taken by an interaction write before it locks its rows.
func lockLabelsShared(ctx context.Context, tx pgx.Tx, tenants map[string]bool) error {
	return lockLabels(ctx, tx, tenants, `SELECT pg_advisory_xact_lock_shared(hashtext($1))`)
}

func lockLabels(ctx context.Context, tx pgx.Tx, tenants map[string]bool, sql string) error {
	names := make([]string, 0, len(tenants))
	for t := range tenants {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		if _, err := tx.Exec(ctx, sql, labelLockKey(t)); err != nil {
			return fmt.Errorf("writer: locking deal labels of %s: %w", t, err)
		}
	}
	return nil
}

// relabelSQL sets the label of the deal entries ($1 ids, $2 titles) of interactions' linked_entities that differ.
const relabelSQL = `
WITH v AS (SELECT * FROM unnest($1::text[], $2::text[]) AS v(id, label))
UPDATE customer_interactions i SET linked_entities = (
  SELECT jsonb_agg(CASE WHEN v.id IS NULL THEN x.e ELSE jsonb_set(x.e, '{label}', to_jsonb(v.label)) END ORDER BY x.n)
  FROM jsonb_array_elements(i.linked_entities) WITH ORDINALITY AS x(e, n)
  LEFT JOIN v ON x.e->>'type' = 'deal' AND v.id = x.e->>'id')
WHERE jsonb_typeof(i.linked_entities) = 'array' AND EXISTS (
  SELECT 1 FROM jsonb_array_elements(i.linked_entities) e JOIN v ON e->>'type' = 'deal' AND v.id = e->>'id'
  WHERE e->>'label' IS DISTINCT FROM v.label)`

// relabelDeals brings the linked_entities labels of renamed deals (id → title, per tenant) to their titles.
func relabelDeals(ctx context.Context, tx pgx.Tx, renamed map[string]map[uuid.UUID]string) error {
	if len(renamed) == 0 {
		return nil
	}
	tenants := map[string]bool{}
	var ids, labels []string
	for t, deals := range renamed {
		tenants[t] = true
		for id, title := range deals {
			ids, labels = append(ids, id.String()), append(labels, linkedLabel(title))
		}
	}
	if err := lockLabels(ctx, tx, tenants, `SELECT pg_advisory_xact_lock(hashtext($1))`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, relabelSQL, ids, labels); err != nil {
		return fmt.Errorf("writer: relabelling %d renamed deals in interactions: %w", len(ids), err)
	}
	return nil
}

// renamedDeals are the deals of a write whose title changed (their rows existed), per tenant.
func (s *Store) renamedDeals(rs []recState[events.Deal], write []int, cur map[uuid.UUID]rowState, written map[uuid.UUID]bool) map[string]map[uuid.UUID]string {
	out := map[string]map[uuid.UUID]string{}
	for _, i := range write {
		r := rs[i]
		st := cur[r.id]
		if !written[r.id] || !st.Exists || r.st.Deleted {
			continue
		}
		if old := s.ciphers[r.key.Tenant].DecPtr(st.a); old != nil && *old == r.st.Value.Title {
			continue
		}
		if out[r.key.Tenant] == nil {
			out[r.key.Tenant] = map[uuid.UUID]string{}
		}
		out[r.key.Tenant][r.id] = r.st.Value.Title
	}
	return out
}

// linkedLabel is a label as linked_entities holds it: at most the validator's 500.
func linkedLabel(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}
