package adapters

import (
	"context"
	"fmt"
	"strings"

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

// samePtr tells whether two optional values are both absent or equal.
func samePtr[T comparable](a, b *T) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func userString(u *uuid.UUID) string {
	if u == nil {
		return "none"
	}
	return u.String()
}
