package adapters

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/domain"
)

// Person ↔ company links. A person's links are those of its last applied version (Person.CompanyLinks): links to
// companies orosync has written become customer_person_company_links rows (removed ones soft-deleted), the primary
// one also customer_people.company_entity_id, as Mercato's syncLegacyPrimaryCompanyLink keeps them. A link whose
// company has not arrived is parked in orosync_pending_links and applied by the batch that writes the company.
// Both sides take a per-tenant transaction-level advisory lock before resolving or unparking, so a person and its
// company written concurrently cannot miss each other.

const linkEvent = "customers.person_company_link."

// linkSync is the link set a person must end up with.
type linkSync struct {
	tenant string
	person uuid.UUID
	// company is the person's primary company as loaded (customer_people.company_entity_id, uuid.Nil: none), if
	// companyLoaded: it is written only when it changes.
	company       uuid.UUID
	companyLoaded bool
	links         []events.CompanyLink
	version       events.SourceVersion
	mapping       string
	// silent: the person is being deleted or brought back; Mercato's delete and its undo change links without
	// announcing them (people.ts: nativeDelete, restored with the person).
	silent bool
}

func lockLinks(ctx context.Context, tx pgx.Tx, tenants map[string]bool) error {
	p := &pipeline{}
	queueLinkLocks(p, tenants)
	if err := p.flush(ctx, tx); err != nil {
		return fmt.Errorf("writer: locking links: %w", err)
	}
	return nil
}

// queueLinkLocks queues the per-tenant link locks, in tenant order.
func queueLinkLocks(p *pipeline, tenants map[string]bool) {
	names := make([]string, 0, len(tenants))
	for t := range tenants {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		p.b.Queue(`SELECT pg_advisory_xact_lock(hashtext('orosync-links/' || $1))`, t)
	}
}

const resolveCompaniesSQL = `
SELECT k.i, r.internal_entity_id
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS k(t, o, st, si, i)
JOIN orosync_records r ON r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si
WHERE r.internal_entity_type = 'customers.company' AND r.profile_id IS NOT NULL`

// currentLinksSQL probes the person index once per person (OFFSET 0 keeps the LATERAL subquery from being
// flattened into a join, for which the planner scanned the whole table).
const currentLinksSQL = `
SELECT l.id, l.person_entity_id, l.company_entity_id, l.is_primary
FROM (SELECT DISTINCT person FROM unnest($1::uuid[]) AS u(person)) k
CROSS JOIN LATERAL (SELECT id, person_entity_id, company_entity_id, is_primary FROM customer_person_company_links
                    WHERE person_entity_id = k.person AND deleted_at IS NULL OFFSET 0) l
ORDER BY l.id`

// upsertLinksSQL creates links, or revives orosync's soft-deleted row of the same pair (ids are deterministic);
// a live link of the pair made in Mercato is left as it is (partial unique index). It returns whether each row was
// inserted (xmax = 0) or revived: Mercato's create command announces a revived link as updated. OFFSET 0 keeps
// the live-pair check a probe per row: as an anti join, the planner without statistics hashed every live link.
const upsertLinksSQL = `
INSERT INTO customer_person_company_links (id, organization_id, tenant_id, is_primary, created_at, updated_at, person_entity_id,
       company_entity_id, deleted_at)
SELECT v.id, v.org, v.ten, v.primary, $7, $7, v.person, v.company, NULL
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::boolean[], $5::uuid[], $6::uuid[]) AS v(id, org, ten, "primary", person, company)
WHERE NOT EXISTS (SELECT 1 FROM customer_person_company_links l
                  WHERE l.person_entity_id = v.person AND l.company_entity_id = v.company AND l.deleted_at IS NULL
                  OFFSET 0)
ORDER BY v.id
ON CONFLICT (id) DO UPDATE SET deleted_at = NULL, is_primary = EXCLUDED.is_primary, updated_at = EXCLUDED.updated_at
RETURNING id, xmax = 0`

const newLinksSQL = `
INSERT INTO customer_person_company_links (id, organization_id, tenant_id, is_primary, created_at, updated_at, person_entity_id,
       company_entity_id)
SELECT v.id, v.org, v.ten, v.primary, $7, $7, v.person, v.company
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::boolean[], $5::uuid[], $6::uuid[]) AS v(id, org, ten, "primary", person, company)`

const updateLinksSQL = `
UPDATE customer_person_company_links l SET is_primary = v.primary, updated_at = $3
FROM unnest($1::uuid[], $2::boolean[]) AS v(id, "primary")
WHERE l.id = ANY($1::uuid[]) AND l.id = v.id AND l.is_primary IS DISTINCT FROM v.primary`

// deleteLinksSQL soft-deletes links as Mercato's delete command does: deleted_at set, is_primary cleared; a link
// already deleted keeps its values. (A condition on deleted_at IS NULL let the planner, without statistics, read
// every live link through the partial unique index instead of the batch's by id.)
const deleteLinksSQL = `
UPDATE customer_person_company_links SET deleted_at = coalesce(deleted_at, $2), is_primary = false,
       updated_at = CASE WHEN deleted_at IS NULL THEN $2 ELSE updated_at END
WHERE id = ANY($1::uuid[])`

const primaryCompanySQL = `
UPDATE customer_people p SET company_entity_id = v.company, updated_at = $3
FROM unnest($1::uuid[], $2::uuid[]) AS v(entity_id, company)
WHERE p.entity_id = ANY($1::uuid[]) AND p.entity_id = v.entity_id AND p.company_entity_id IS DISTINCT FROM v.company`

const clearPendingSQL = `DELETE FROM orosync_pending_links WHERE person_entity_id = ANY($1::uuid[])`

const parkLinksSQL = `
INSERT INTO orosync_pending_links (tenant_id, organization_id, person_entity_id, company_source_type, company_source_id, is_primary,
       source_updated_at, payload_hash, created_at)
SELECT v.t, v.o, v.person, v.st, v.si, v.primary, v.at, v.hash, $9
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::boolean[], $7::timestamptz[], $8::text[])
     AS v(t, o, person, st, si, "primary", at, hash)
ON CONFLICT (person_entity_id, company_source_type, company_source_id) DO UPDATE SET is_primary = EXCLUDED.is_primary`

type linkRow struct {
	id, person, company uuid.UUID
	primary             bool
}

// linkPlan is what a batch does to its people's links, decided before its rows are written so that people new
// to Mercato get their primary company in the insert itself (no second write of their customer_people row).
type linkPlan struct {
	syncs                      []linkSync
	ins                        []linkRow
	insScope                   []Scope
	insFresh                   []bool // the link's person is inserted by this batch
	insSync                    []int
	updID                      []uuid.UUID
	updPrimary                 []bool
	del                        []uuid.UUID
	primaryPerson, primaryComp []uuid.UUID
	// primary is the primary company of each fresh person (inserted by this batch).
	primary         map[uuid.UUID]uuid.UUID
	clear           []uuid.UUID // people whose parked links are replaced
	pT, pO, pPerson []uuid.UUID
	pST, pSI, pHash []string
	pPrimary        []bool
	pAt             []time.Time
	outbox          []model.OrosyncOutbox
}

// exec writes the planned links after the writes queued in p (the people they belong to), sends them all, and
// returns the outbox rows.
func (lp *linkPlan) exec(ctx context.Context, tx pgx.Tx, p *pipeline, now time.Time) ([]model.OrosyncOutbox, error) {
	if len(lp.del) > 0 {
		p.Exec(ctx, deleteLinksSQL, rowkit.UUIDs(lp.del), now)
	}
	if len(lp.updID) > 0 {
		p.Exec(ctx, updateLinksSQL, rowkit.UUIDs(lp.updID), lp.updPrimary, now)
	}
	created := queueInsertLinks(p, lp.ins, lp.insScope, lp.insFresh, now)
	if err := setPrimaryCompanies(ctx, p, lp.primaryPerson, lp.primaryComp, now); err != nil {
		return nil, err
	}
	if len(lp.clear) > 0 {
		p.Exec(ctx, clearPendingSQL, rowkit.UUIDs(lp.clear))
	}
	if len(lp.pPerson) > 0 {
		p.Exec(ctx, parkLinksSQL, rowkit.UUIDs(lp.pT), rowkit.UUIDs(lp.pO), rowkit.UUIDs(lp.pPerson), lp.pST, lp.pSI, lp.pPrimary, lp.pAt, lp.pHash, now)
	}
	if err := p.flush(ctx, tx); err != nil {
		return nil, err
	}
	outbox := append(make([]model.OrosyncOutbox, 0, len(lp.outbox)+len(lp.ins)), lp.outbox...)
	for i, l := range lp.ins {
		name, ok := created[l.id]
		if !ok {
			continue
		}
		ls := lp.syncs[lp.insSync[i]]
		if ls.silent {
			continue
		}
		row, err := rowkit.LinkEventRow(ls.tenant, name, lp.insScope[i], l.id, l.person, l.company, ls.version, ls.mapping)
		if err != nil {
			return nil, err
		}
		outbox = append(outbox, row)
	}
	return outbox, nil
}

func insertLinks(ctx context.Context, tx pgx.Tx, ins []linkRow, scopes []Scope, now time.Time) (map[uuid.UUID]string, error) {
	p := &pipeline{}
	created := queueInsertLinks(p, ins, scopes, nil, now)
	if err := p.flush(ctx, tx); err != nil {
		return nil, fmt.Errorf("writer: inserting links: %w", err)
	}
	return created, nil
}

// queueInsertLinks queues the upsert of links; the returned map is filled, once p is sent, with the event of each
// link it wrote: linkCreated, or linkUpdated for one it revived. Links of people the batch inserts (fresh) cannot
// exist yet: they are inserted plainly (no anti-join over the live links, no ON CONFLICT, no RETURNING), and all of
// them are created.
func queueInsertLinks(p *pipeline, ins []linkRow, scopes []Scope, fresh []bool, now time.Time) map[uuid.UUID]string {
	created := make(map[uuid.UUID]string, len(ins))
	var newRows, rows []linkRow
	var newScopes, rowScopes []Scope
	for i, l := range ins {
		if fresh != nil && fresh[i] {
			newRows, newScopes = rowkit.AppendSized(newRows, len(ins), l), rowkit.AppendSized(newScopes, len(ins), scopes[i])
			created[l.id] = linkCreated
		} else {
			rows, rowScopes = rowkit.AppendSized(rows, len(ins), l), rowkit.AppendSized(rowScopes, len(ins), scopes[i])
		}
	}
	if len(newRows) > 0 {
		p.b.Queue(newLinksSQL, linkColumns(newRows, newScopes, now)...)
	}
	if len(rows) == 0 {
		return created
	}
	p.b.Queue(upsertLinksSQL, linkColumns(rows, rowScopes, now)...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var x [16]byte
			var inserted bool
			if err := rows.Scan(&x, &inserted); err != nil {
				return fmt.Errorf("writer: inserting links: %w", err)
			}
			created[x] = linkUpdated
			if inserted {
				created[x] = linkCreated
			}
		}
		return rows.Err()
	})
	return created
}

func linkColumns(ins []linkRow, scopes []Scope, now time.Time) []any {
	n := len(ins)
	id, org, ten, person, company := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
	primary := make([]bool, n)
	for i, l := range ins {
		id[i], org[i], ten[i], person[i], company[i], primary[i] = l.id, scopes[i].OrganizationID, scopes[i].TenantID, l.person, l.company, l.primary
	}
	return []any{rowkit.UUIDs(id), rowkit.UUIDs(org), rowkit.UUIDs(ten), primary, rowkit.UUIDs(person), rowkit.UUIDs(company), now}
}

// setPrimaryCompanies sets customer_people.company_entity_id (uuid.Nil: none).
func setPrimaryCompanies(ctx context.Context, tx execer, people, companies []uuid.UUID, now time.Time) error {
	if len(people) == 0 {
		return nil
	}
	comps := make([]*uuid.UUID, len(companies))
	for i, c := range companies {
		if c != uuid.Nil {
			x := c
			comps[i] = &x
		}
	}
	if _, err := tx.Exec(ctx, primaryCompanySQL, rowkit.UUIDs(people), rowkit.OptUUIDs(comps), now); err != nil {
		return fmt.Errorf("writer: primary companies of people: %w", err)
	}
	return nil
}

const (
	linkCreated = linkEvent + "created"
	linkUpdated = linkEvent + "updated"
)

const unparkSQL = `
DELETE FROM orosync_pending_links p
USING unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[]) WITH ORDINALITY AS k(t, o, st, si, entity, i)
WHERE p.tenant_id = k.t AND p.organization_id = k.o AND p.company_source_type = k.st AND p.company_source_id = k.si
RETURNING k.i, p.person_entity_id, k.entity, p.is_primary`

// unpark applies the links parked for companies that now exist.
func (s *Store) unpark(ctx context.Context, tx pgx.Tx, arrived []arrival, now time.Time) ([]model.OrosyncOutbox, error) {
	if len(arrived) == 0 {
		return nil, nil
	}
	tenants := map[string]bool{}
	n := len(arrived)
	ts, os, sts, sis, ents := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]string, n), make([]string, n), make([]uuid.UUID, n)
	for i, a := range arrived {
		tenants[a.tenant] = true
		sc := s.scopes[a.tenant]
		ts[i], os[i], sts[i], sis[i], ents[i] = sc.TenantID, sc.OrganizationID, a.ref.Type, a.ref.ID, a.entity
	}
	if err := lockLinks(ctx, tx, tenants); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, unparkSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis, rowkit.UUIDs(ents))
	if err != nil {
		return nil, fmt.Errorf("writer: unparking links: %w", err)
	}
	var (
		ins    []linkRow
		scopes []Scope
		from   []int
	)
	for rows.Next() {
		var (
			i int64
			l linkRow
		)
		if err := rows.Scan(&i, rowkit.ScanUUID(&l.person), rowkit.ScanUUID(&l.company), &l.primary); err != nil {
			rows.Close()
			return nil, fmt.Errorf("writer: unparking links: %w", err)
		}
		sc := s.scopes[arrived[i-1].tenant]
		l.id = rowkit.LinkID(sc, l.person, l.company)
		ins, scopes, from = append(ins, l), append(scopes, sc), append(from, int(i-1))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: unparking links: %w", err)
	}
	created, err := insertLinks(ctx, tx, ins, scopes, now)
	if err != nil {
		return nil, err
	}
	var (
		outbox              []model.OrosyncOutbox
		people, primaryComp []uuid.UUID
	)
	for j, l := range ins {
		if l.primary {
			people, primaryComp = append(people, l.person), append(primaryComp, l.company)
		}
		name, ok := created[l.id]
		if !ok {
			continue
		}
		a := arrived[from[j]]
		row, err := rowkit.LinkEventRow(a.tenant, name, scopes[j], l.id, l.person, l.company, a.version, a.mapping)
		if err != nil {
			return nil, err
		}
		outbox = append(outbox, row)
	}
	if err := setPrimaryCompanies(ctx, tx, people, primaryComp, now); err != nil {
		return nil, err
	}
	return outbox, nil
}

// arrival is a company that now exists in Mercato (links parked for it can be applied).
type arrival struct {
	tenant  string
	ref     events.OroRef
	entity  uuid.UUID
	version events.SourceVersion
	mapping string
}

// planLinks resolves the companies the given people link to and decides the link rows to write. fresh are the
// people this batch inserts: they have no links, parked links nor primary company yet, so nothing is loaded for
// them.
func (s *Store) planLinks(ctx context.Context, tx pgx.Tx, syncs []linkSync, fresh map[uuid.UUID]bool) (*linkPlan, error) {
	lp := &linkPlan{syncs: syncs, primary: make(map[uuid.UUID]uuid.UUID, len(syncs))}
	if len(syncs) == 0 {
		return lp, nil
	}
	resolved, current, err := s.loadLinks(ctx, tx, lp, fresh)
	if err != nil {
		return nil, err
	}
	var order []uuid.UUID // reused: the companies of one person in order
	for si, ls := range syncs {
		sc := s.scopes[ls.tenant]
		want := map[uuid.UUID]bool{} // company entity → primary (kept on the stack: lp.want only fills it)
		var primary uuid.UUID
		order, primary = lp.want(sc, ls, resolved, want, order[:0])
		if err := lp.diff(si, sc, ls, want, order, current[ls.person], fresh[ls.person]); err != nil {
			return nil, err
		}
		lp.setPrimary(ls, primary, fresh[ls.person])
	}
	return lp, nil
}

// loadLinks takes the tenants' link locks, resolves every referenced company and loads the current links of people
// not new to Mercato (lp.clear), in one round trip.
func (s *Store) loadLinks(ctx context.Context, tx pgx.Tx, lp *linkPlan, fresh map[uuid.UUID]bool) (map[refKey]uuid.UUID,
	map[uuid.UUID][]linkRow, error) {
	tenants := map[string]bool{}
	var refs []refKey
	index := map[refKey]int{}
	for _, ls := range lp.syncs {
		tenants[ls.tenant] = true
		for _, l := range ls.links {
			r := refKey{ls.tenant, l.Company}
			if _, ok := index[r]; !ok {
				index[r] = len(refs)
				refs = append(refs, r)
			}
		}
		if !fresh[ls.person] {
			lp.clear = append(lp.clear, ls.person)
		}
	}
	p := &pipeline{}
	queueLinkLocks(p, tenants)
	resolved := map[refKey]uuid.UUID{}
	if len(refs) > 0 {
		keys := make([]domain.Key, len(refs))
		for i, r := range refs {
			keys[i] = r.key()
		}
		ts, os, sts, sis := s.keyColumns(keys)
		p.b.Queue(resolveCompaniesSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var i int64
				var entity [16]byte
				if err := rows.Scan(&i, &entity); err != nil {
					return err
				}
				resolved[refs[i-1]] = entity
			}
			return rows.Err()
		})
	}
	current := map[uuid.UUID][]linkRow{}
	if len(lp.clear) > 0 {
		p.b.Queue(currentLinksSQL, rowkit.UUIDs(lp.clear)).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var l linkRow
				if err := rows.Scan(rowkit.ScanUUID(&l.id), rowkit.ScanUUID(&l.person), rowkit.ScanUUID(&l.company), &l.primary); err != nil {
					return err
				}
				current[l.person] = append(current[l.person], l)
			}
			return rows.Err()
		})
	}
	if err := p.flush(ctx, tx); err != nil {
		return nil, nil, fmt.Errorf("writer: resolving companies and loading links: %w", err)
	}
	return resolved, current, nil
}

// want fills in the link set a person's version asks for: per company written, whether it is the primary one
// (want), the companies in order (appended to order), and the primary company (uuid.Nil: none); links to companies
// not written yet are parked (the same account twice is one link).
func (lp *linkPlan) want(sc Scope, ls linkSync, resolved map[refKey]uuid.UUID, want map[uuid.UUID]bool, order []uuid.UUID) (
	[]uuid.UUID, uuid.UUID) {
	var primary uuid.UUID
	primaryTaken := false
	parked := map[events.OroRef]int{}
	for _, l := range ls.links {
		isPrimary := l.IsPrimary && !primaryTaken
		primaryTaken = primaryTaken || l.IsPrimary
		company, ok := resolved[refKey{ls.tenant, l.Company}]
		if !ok {
			if j, dup := parked[l.Company]; dup {
				lp.pPrimary[j] = lp.pPrimary[j] || isPrimary
				continue
			}
			parked[l.Company] = len(lp.pPerson)
			lp.pT, lp.pO, lp.pPerson = append(lp.pT, sc.TenantID), append(lp.pO, sc.OrganizationID), append(lp.pPerson, ls.person)
			lp.pST, lp.pSI, lp.pPrimary = append(lp.pST, l.Company.Type), append(lp.pSI, l.Company.ID), append(lp.pPrimary, isPrimary)
			lp.pAt, lp.pHash = append(lp.pAt, ls.version.UpdatedAt), append(lp.pHash, ls.version.PayloadHash)
			continue
		}
		if _, dup := want[company]; !dup {
			order = append(order, company)
		}
		want[company] = want[company] || isPrimary
		if isPrimary {
			primary = company
		}
	}
	return order, primary
}

// diff plans the link rows that bring a person's current links (of sync si) to want: deletions and primary flags
// (announced), and inserts.
func (lp *linkPlan) diff(si int, sc Scope, ls linkSync, want map[uuid.UUID]bool, order []uuid.UUID, current []linkRow, fresh bool) error {
	have := map[uuid.UUID]linkRow{}
	for _, l := range current {
		if _, ok := want[l.company]; !ok {
			lp.del = append(lp.del, l.id)
			if ls.silent {
				continue
			}
			row, err := rowkit.LinkEventRow(ls.tenant, linkEvent+"deleted", sc, l.id, l.person, l.company, ls.version, ls.mapping)
			if err != nil {
				return err
			}
			lp.outbox = append(lp.outbox, row)
			continue
		}
		have[l.company] = l
	}
	n := len(lp.syncs)
	var moved []linkRow // links whose primary flag changes (a zero row: a new link made primary)
	for _, company := range order {
		if l, ok := have[company]; ok {
			if l.primary != want[company] {
				lp.updID, lp.updPrimary = append(lp.updID, l.id), append(lp.updPrimary, want[company])
				moved = append(moved, l)
			}
			continue
		}
		lp.ins = rowkit.AppendSized(lp.ins, n, linkRow{id: rowkit.LinkID(sc, ls.person, company), person: ls.person, company: company,
			primary: want[company]})
		lp.insScope, lp.insSync = rowkit.AppendSized(lp.insScope, n, sc), rowkit.AppendSized(lp.insSync, n, si)
		lp.insFresh = rowkit.AppendSized(lp.insFresh, n, fresh)
		if want[company] {
			moved = append(moved, linkRow{}) // a new primary link: announced as created
		}
	}
	return lp.announceMoved(sc, ls, moved)
}

// announceMoved adds customers.person_company_link.updated for a primary flag that moved, as Mercato's link update
// command emits it for the link it was called on: the one made primary (clearing the others is silent there), else
// the one that stopped being primary.
func (lp *linkPlan) announceMoved(sc Scope, ls linkSync, moved []linkRow) error {
	if ls.silent {
		return nil
	}
	var made, unmade []linkRow
	for _, l := range moved {
		if l.primary {
			unmade = append(unmade, l)
		} else {
			made = append(made, l)
		}
	}
	if len(made) == 0 {
		made = unmade
	}
	for _, l := range made {
		if l.id == uuid.Nil {
			continue
		}
		row, err := rowkit.LinkEventRow(ls.tenant, linkUpdated, sc, l.id, l.person, l.company, ls.version, ls.mapping)
		if err != nil {
			return err
		}
		lp.outbox = append(lp.outbox, row)
	}
	return nil
}

// setPrimary notes a person's primary company (uuid.Nil: none): in its insert when the batch creates it, else as
// an update when it changed.
func (lp *linkPlan) setPrimary(ls linkSync, primary uuid.UUID, fresh bool) {
	if fresh {
		if primary != uuid.Nil {
			lp.primary[ls.person] = primary
		}
		return
	}
	if ls.companyLoaded && ls.company == primary {
		return
	}
	lp.primaryPerson, lp.primaryComp = append(lp.primaryPerson, ls.person), append(lp.primaryComp, primary)
}
