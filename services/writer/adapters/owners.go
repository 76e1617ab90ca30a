package adapters

import (
	"context"
	"fmt"
	"strings"

	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/services/writer/app"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/domain"
)

// Owners: an Oro record's owner (a user or business unit, kept as a directory entry: users.go) is matched to the
// Mercato user of the record's tenant with the same email, found as Mercato finds a user by email (auth
// services/authService.ts findUserByEmailAndTenant: a live user of the tenant whose email is the one given or
// whose email_hash is one of lookupHashCandidates(email)). An owner without a match (its directory entry not
// written yet, no email, or no such Mercato user) leaves Mercato's column empty and is kept in the custom field
// oroOwnerField; its reference is parked in orosync_waiting_refs, so the records it owns are matched again when
// the Oro user is written (it arrives, a new version, or a replay of it). `orosync status` counts those parked.

// oroOwnerField is the custom field an unmatched owner is kept in: "Name <email>", or the Oro reference when the
// directory entry has not arrived.
const oroOwnerField = "oro_owner"

// ownerKey is an owner reference of a tenant.
type ownerKey struct {
	tenant string
	ref    events.OroRef
}

// ownerMatch is an owner's Mercato user (nil: unmatched) and what oroOwnerField keeps of it; name and email are
// its directory entry's.
type ownerMatch struct {
	user        *uuid.UUID
	label       string
	name, email string
}

const directorySQL = `
SELECT k.i, r.snapshot
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS k(t, o, st, si, i)
JOIN orosync_records r ON r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si
     AND r.internal_entity_type = 'orosync.user' AND r.deleted_at IS NULL AND r.snapshot IS NOT NULL`

// usersByEmailSQL: per owner (k.i) the tenant's live users whose email_hash is a candidate hash or whose email is
// the one given, the oldest first.
const usersByEmailSQL = `
SELECT DISTINCT ON (k.i) k.i, u.id
FROM unnest($2::int[], $3::text[], $4::text[]) AS k(i, email, hash)
JOIN users u ON u.tenant_id = $1 AND u.deleted_at IS NULL AND (u.email_hash = k.hash OR u.email = k.email)
ORDER BY k.i, u.created_at, u.id`

// matchOwners matches owner references to Mercato users.
func (s *Store) matchOwners(ctx context.Context, tx pgx.Tx, owners []ownerKey) (map[ownerKey]ownerMatch, error) {
	out := make(map[ownerKey]ownerMatch, len(owners))
	keys := make([]domain.Key, len(owners))
	for i, o := range owners {
		keys[i] = domain.Key{Tenant: o.tenant, SourceType: o.ref.Type, SourceID: o.ref.ID}
		out[o] = ownerMatch{label: o.ref.Type + ":" + o.ref.ID}
	}
	if len(keys) == 0 {
		return out, nil
	}
	emails, err := s.directoryEmails(ctx, tx, owners, keys, out)
	if err != nil {
		return nil, err
	}
	for tenant, list := range emails {
		sc := s.scopes[tenant]
		var (
			is            []int32
			plain, hashes []string
		)
		for _, e := range list {
			for _, h := range rowkit.LookupHashCandidates(sc.Pepper, e.email) {
				is, plain, hashes = append(is, e.i), append(plain, e.email), append(hashes, h)
			}
		}
		rows, err := tx.Query(ctx, usersByEmailSQL, sc.TenantID, is, plain, hashes)
		if err != nil {
			return nil, fmt.Errorf("writer: Mercato users by email: %w", err)
		}
		for rows.Next() {
			var (
				i  int32
				id uuid.UUID
			)
			if err := rows.Scan(&i, &id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("writer: Mercato users by email: %w", err)
			}
			m := out[owners[i]]
			m.user = &id
			out[owners[i]] = m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("writer: Mercato users by email: %w", err)
		}
	}
	return out, nil
}

// ownerEmail is an owner (by index) with the email of its directory entry.
type ownerEmail struct {
	i     int32
	email string
}

// directoryEmails reads the owners' directory entries: it labels each one found in out and returns, per tenant,
// those with an email.
func (s *Store) directoryEmails(ctx context.Context, tx pgx.Tx, owners []ownerKey, keys []domain.Key,
	out map[ownerKey]ownerMatch) (map[string][]ownerEmail, error) {
	ts, os, sts, sis := s.keyColumns(keys)
	rows, err := tx.Query(ctx, directorySQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, fmt.Errorf("writer: owners' directory entries: %w", err)
	}
	defer rows.Close()
	emails := map[string][]ownerEmail{}
	for rows.Next() {
		var (
			i        int64
			snapshot []byte
			u        events.User
		)
		if err := rows.Scan(&i, &snapshot); err != nil {
			return nil, fmt.Errorf("writer: owners' directory entries: %w", err)
		}
		o := owners[i-1]
		if err := rowkit.OpenJSON(s.ciphers[o.tenant], snapshot, &u); err != nil {
			return nil, fmt.Errorf("writer: directory entry %s/%s: %w", o.ref.Type, o.ref.ID, err)
		}
		label, email := u.DisplayName, ""
		if u.Email != nil && strings.TrimSpace(*u.Email) != "" {
			email = strings.TrimSpace(*u.Email)
			label = strings.TrimSpace(label + " <" + *u.Email + ">")
			emails[o.tenant] = append(emails[o.tenant], ownerEmail{i: int32(i - 1), email: *u.Email})
		}
		if label != "" {
			out[o] = ownerMatch{label: label, name: u.DisplayName, email: email}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: owners' directory entries: %w", err)
	}
	return emails, nil
}

// Owners of people and companies: customer_entities.owner_user_id, which Mercato's person and company commands
// set from ownerUserId (customers/commands/people.ts, companies.ts), is written after the entity path, from the
// record's last applied version (its snapshot), as lifecycle stages are.

const ownedProfilesSQL = `
SELECT k.i, r.internal_entity_type, e.id, coalesce(p.id, c.id), e.owner_user_id, r.snapshot,
       e.deleted_at IS NOT NULL OR r.deleted_at IS NOT NULL, r.source_updated_at,
       r.payload_hash, r.mapping_version,
       EXISTS (SELECT 1 FROM custom_field_values v
               WHERE v.entity_id = CASE WHEN p.id IS NOT NULL THEN 'customers:customer_person_profile'
                                        ELSE 'customers:customer_company_profile' END
                 AND v.record_id = coalesce(p.id, c.id)::text AND v.tenant_id = k.t AND v.field_key = 'oro_owner'
                 AND v.deleted_at IS NULL)
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS k(t, o, st, si, i)
JOIN orosync_records r ON r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si
     AND r.internal_entity_type IN ('customers.person', 'customers.company') AND r.snapshot IS NOT NULL
JOIN customer_entities e ON e.id = r.internal_entity_id
LEFT JOIN customer_people p ON p.entity_id = e.id
LEFT JOIN customer_companies c ON c.entity_id = e.id
ORDER BY e.id
FOR UPDATE OF e`

// setOwnersSQL: a record the batch wrote keeps the updated_at of that write (a record just created still reads as
// created).
const setOwnersSQL = `
UPDATE customer_entities e SET owner_user_id = v.owner, updated_at = CASE WHEN v.announced THEN e.updated_at ELSE $4 END
FROM unnest($1::uuid[], $2::uuid[], $3::boolean[]) AS v(id, owner, announced)
WHERE e.id = v.id AND e.owner_user_id IS DISTINCT FROM v.owner`

// ownedProfile is a person or company with its owner.
type ownedProfile struct {
	key        domain.Key
	aggregate  string
	id         ids
	cur        *uuid.UUID
	owner      *events.OroRef
	deleted    bool
	announced  bool // its created or updated event was written by this batch
	hasOwnerCF bool
	version    events.SourceVersion
	mapping    string
}

// ApplyOwners brings the owners of the given people and companies in line with their last applied versions.
func (s *Store) ApplyOwners(ctx context.Context, keys []domain.Key, announced map[domain.Key]bool) (app.Result, error) {
	if len(keys) == 0 {
		return app.Result{}, nil
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return app.Result{}, fmt.Errorf("writer: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The references lock: an owner parked here and its user written concurrently cannot miss each other.
	if err := lockRefs(ctx, tx, keys); err != nil {
		return app.Result{}, err
	}
	res, err := s.reconcileOwners(ctx, tx, keys, announced)
	if err != nil {
		return app.Result{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return app.Result{}, fmt.Errorf("writer: commit: %w", err)
	}
	return res, nil
}

// reconcileOwners writes the owners of the given people and companies (other records among keys are left alone).
func (s *Store) reconcileOwners(ctx context.Context, tx pgx.Tx, keys []domain.Key, announced map[domain.Key]bool) (app.Result, error) {
	recs, err := s.ownedProfiles(ctx, tx, keys)
	if err != nil || len(recs) == 0 {
		return app.Result{}, err
	}
	for i := range recs {
		recs[i].announced = announced[recs[i].key]
	}
	var refs []ownerKey
	for _, r := range recs {
		if r.owner != nil && !r.deleted {
			refs = append(refs, ownerKey{r.key.Tenant, *r.owner})
		}
	}
	matches, err := s.matchOwners(ctx, tx, refs)
	if err != nil {
		return app.Result{}, err
	}
	now := s.now().UTC()
	var (
		entities []uuid.UUID
		userPtrs []*uuid.UUID
		quiet    []bool
		outbox   []model.OrosyncOutbox
		cfs      = map[string][]cfRecord{}
		parked   = map[int][]events.OroRef{}
		owners   = make([]domain.Key, len(recs))
	)
	for n, r := range recs {
		owners[n] = r.key
		if r.deleted {
			continue
		}
		var m ownerMatch
		if r.owner != nil {
			m = matches[ownerKey{r.key.Tenant, *r.owner}]
			if m.user == nil {
				parked[n] = []events.OroRef{*r.owner}
			}
		}
		announced := r.announced
		if !sameUser(r.cur, m.user) {
			entities, userPtrs, quiet = append(entities, r.id.entity), append(userPtrs, m.user), append(quiet, r.announced)
			if !r.announced {
				row, err := rowkit.CustomerEventRow(r.key.Tenant, r.aggregate+".updated", s.scopes[r.key.Tenant], r.id.entity, r.id.profile,
					r.version, r.mapping, "owner/"+userString(m.user))
				if err != nil {
					return app.Result{}, err
				}
				outbox, announced = append(outbox, row), true
			}
		}
		if (r.owner != nil && m.user == nil) || r.hasOwnerCF {
			var label any
			if r.owner != nil && m.user == nil {
				label = m.label
			}
			cfs[r.aggregate] = append(cfs[r.aggregate], cfRecord{sc: s.scopes[r.key.Tenant], tenant: r.key.Tenant,
				label: r.aggregate + " " + r.key.SourceType + "/" + r.key.SourceID, record: r.id.profile, entity: r.id.entity,
				announced: announced, next: map[string]any{oroOwnerField: label}, version: r.version, mapping: r.mapping})
		}
	}
	if len(entities) > 0 {
		if _, err := tx.Exec(ctx, setOwnersSQL, rowkit.UUIDs(entities), rowkit.OptUUIDs(userPtrs), quiet, now); err != nil {
			return app.Result{}, fmt.Errorf("writer: owners: %w", err)
		}
	}
	for _, aggregate := range []string{events.AggregatePerson, events.AggregateCompany} {
		target, _ := customFieldsOf(aggregate)
		rows, err := s.syncCustomFields(ctx, tx, target, cfs[aggregate], now)
		if err != nil {
			return app.Result{}, err
		}
		outbox = append(outbox, rows...)
	}
	if err := s.setWaiting(ctx, tx, owners, parked, now); err != nil {
		return app.Result{}, err
	}
	return countEvents(outbox), s.insertOutbox(ctx, tx, outbox)
}

// ownedProfiles locks the entities of the people and companies among keys and reads their owners.
func (s *Store) ownedProfiles(ctx context.Context, tx pgx.Tx, keys []domain.Key) ([]ownedProfile, error) {
	ts, os, sts, sis := s.keyColumns(keys)
	rows, err := tx.Query(ctx, ownedProfilesSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, fmt.Errorf("writer: owners: %w", err)
	}
	defer rows.Close()
	var recs []ownedProfile
	for rows.Next() {
		var (
			i        int64
			r        ownedProfile
			snapshot []byte
			base     struct {
				Owner *events.OroRef `json:"owner"`
			}
		)
		if err := rows.Scan(&i, &r.aggregate, &r.id.entity, &r.id.profile, &r.cur, &snapshot, &r.deleted, &r.version.UpdatedAt,
			&r.version.PayloadHash, &r.mapping, &r.hasOwnerCF); err != nil {
			return nil, fmt.Errorf("writer: owners: %w", err)
		}
		r.key = keys[i-1]
		r.version.UpdatedAt = r.version.UpdatedAt.UTC()
		if err := rowkit.OpenJSON(s.ciphers[r.key.Tenant], snapshot, &base); err != nil {
			return nil, fmt.Errorf("writer: snapshot of %s/%s: %w", r.key.SourceType, r.key.SourceID, err)
		}
		r.owner = base.Owner
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: owners: %w", err)
	}
	return recs, nil
}

func sameUser(a, b *uuid.UUID) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func userString(u *uuid.UUID) string {
	if u == nil {
		return "none"
	}
	return u.String()
}
