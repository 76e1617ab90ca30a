package adapters

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/domain"
)

// target is what an Oro reference resolved to.
type target struct {
	kind string // person, company, deal
	id   uuid.UUID
	// viaCase: the reference is an interaction's (an Oro case: activities target cases), standing for the person
	// or company its row is on.
	viaCase bool
}

// resolveRefsSQL resolves references to orosync's records; an interaction's (an Oro case's) with the kind and id
// of the entity its row is on.
const resolveRefsSQL = `
SELECT k.i, r.internal_entity_type, r.internal_entity_id, r.profile_id, ce.kind, ce.id
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS k(t, o, st, si, i)
JOIN orosync_records r ON r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si
LEFT JOIN customer_interactions ci ON r.internal_entity_type = 'customers.interaction' AND ci.id = r.profile_id
LEFT JOIN customer_entities ce ON ce.id = ci.entity_id`

// refKey is an Oro reference within a tenant.
type refKey struct {
	tenant string
	events.OroRef
}

func (r refKey) key() domain.Key {
	return domain.Key{Tenant: r.tenant, SourceType: r.Type, SourceID: r.ID}
}

// resolveRefs resolves Oro references to the Mercato rows orosync wrote for them. An Oro case (an interaction)
// resolves to the person or company its row is on, once it has a row; a record known but of no resolvable kind (a
// user, another activity) is returned in never: waiting for it is pointless.
func (s *Store) resolveRefs(ctx context.Context, tx pgx.Tx, refs []refKey) (found map[refKey]target, never map[refKey]bool, err error) {
	found, never = map[refKey]target{}, map[refKey]bool{}
	if len(refs) == 0 {
		return found, never, nil
	}
	keys := make([]domain.Key, len(refs))
	for i, r := range refs {
		keys[i] = r.key()
	}
	ts, os, sts, sis := s.keyColumns(keys)
	rows, err := tx.Query(ctx, resolveRefsSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, nil, fmt.Errorf("writer: resolving references: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			i          int64
			typ        string
			id         uuid.UUID
			profile    *uuid.UUID
			caseKind   *string
			caseEntity *uuid.UUID
		)
		if err := rows.Scan(&i, &typ, &id, &profile, &caseKind, &caseEntity); err != nil {
			return nil, nil, fmt.Errorf("writer: resolving references: %w", err)
		}
		r := refs[i-1]
		switch typ {
		case events.AggregatePerson, events.AggregateCompany, events.AggregateDeal:
			if profile != nil {
				found[r] = target{kind: events.AggregateToken(typ), id: id}
			}
		case events.AggregateCompanyMerge:
			if profile != nil {
				found[r] = target{kind: "company", id: *profile}
			}
		case events.AggregateInteraction:
			if caseKind != nil && (*caseKind == "person" || *caseKind == "company") {
				found[r] = target{kind: *caseKind, id: *caseEntity, viaCase: true}
			} // else its row waits for its own targets, and so does this reference
		default:
			never[r] = true
		}
	}
	return found, never, rows.Err()
}

// dealSnapshotsSQL reads the last applied values of deals (by their Mercato id).
const dealSnapshotsSQL = `
SELECT internal_entity_id, snapshot FROM orosync_records
WHERE internal_entity_type = 'customers.deal' AND internal_entity_id = ANY($1::uuid[]) AND snapshot IS NOT NULL`

// dealEntities gives the customer entity a deal stands for when an interaction or comment targets only the deal
// (entity_id is NOT NULL in Mercato): its first company written, else its first person, in the deal's last
// applied version (not its link rows, which a deleted deal no longer has), so the choice does not depend on the
// order records arrived in. pending lists, per deal, its people and companies not written yet: a record standing
// on the deal waits for them too (a deleted deal no longer waits for them itself).
func (s *Store) dealEntities(ctx context.Context, tx pgx.Tx, tenant map[uuid.UUID]string) (out map[uuid.UUID]uuid.UUID,
	pending map[uuid.UUID][]events.OroRef, err error) {
	out, pending = map[uuid.UUID]uuid.UUID{}, map[uuid.UUID][]events.OroRef{}
	if len(tenant) == 0 {
		return out, pending, nil
	}
	ids := make([]uuid.UUID, 0, len(tenant))
	for id := range tenant {
		ids = append(ids, id)
	}
	rows, err := tx.Query(ctx, dealSnapshotsSQL, rowkit.UUIDs(ids))
	if err != nil {
		return nil, nil, fmt.Errorf("writer: entities of deals: %w", err)
	}
	deals := map[uuid.UUID]events.Deal{}
	var refs []refKey
	for rows.Next() {
		var id uuid.UUID
		var snapshot []byte
		if err := rows.Scan(&id, &snapshot); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("writer: entities of deals: %w", err)
		}
		var d events.Deal
		if err := rowkit.OpenJSON(s.ciphers[tenant[id]], snapshot, &d); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("writer: snapshot of deal %s: %w", id, err)
		}
		deals[id] = d
		for _, r := range append(append([]events.OroRef{}, d.Companies...), d.People...) {
			refs = append(refs, refKey{tenant[id], r})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("writer: entities of deals: %w", err)
	}
	found, never, err := s.resolveRefs(ctx, tx, refs)
	if err != nil {
		return nil, nil, err
	}
	for id, d := range deals {
		for _, group := range []struct {
			refs []events.OroRef
			kind string
		}{{d.Companies, "company"}, {d.People, "person"}} {
			for _, r := range group.refs {
				k := refKey{tenant[id], r}
				t, ok := found[k]
				switch {
				case !ok && !never[k]:
					pending[id] = append(pending[id], r)
				case ok && t.kind == group.kind:
					if _, done := out[id]; !done {
						out[id] = t.id
					}
				}
			}
		}
	}
	return out, pending, nil
}

// resolvedTargets are the Oro references of a batch's records resolved to Mercato rows (never: records of a kind
// that never resolves), and for the deals among them that stand for an entity, that entity and the people and
// companies they still wait for.
type resolvedTargets struct {
	found       map[refKey]target
	never       map[refKey]bool
	viaDeal     map[uuid.UUID]uuid.UUID
	dealPending map[uuid.UUID][]events.OroRef
}

// resolveTargets resolves refs, then the entities of the deals dealsOf picks among them (deal id → tenant).
func (s *Store) resolveTargets(ctx context.Context, tx pgx.Tx, refs []refKey,
	dealsOf func(found map[refKey]target) map[uuid.UUID]string) (resolvedTargets, error) {
	var rt resolvedTargets
	var err error
	if rt.found, rt.never, err = s.resolveRefs(ctx, tx, refs); err != nil {
		return rt, err
	}
	rt.viaDeal, rt.dealPending, err = s.dealEntities(ctx, tx, dealsOf(rt.found))
	return rt, err
}
