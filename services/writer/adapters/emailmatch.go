package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/domain"
)

type nativeEmails struct {
	set      map[string]struct{}
	loadedAt time.Time
}

const candidatesSQL = `
SELECT k.i, e.id, p.id, e.display_name, e.primary_email, e.primary_phone, p.first_name, p.last_name, p.job_title, e.updated_at,
       e.description, p.linked_in_url, p.twitter_url, e.source, e.status
FROM unnest($1::text[]) WITH ORDINALITY AS k(email, i)
JOIN customer_entities e ON e.tenant_id = $2 AND e.organization_id = $3 AND e.kind = 'person' AND e.deleted_at IS NULL
     AND lower(e.primary_email) = k.email
JOIN customer_people p ON p.entity_id = e.id
WHERE NOT EXISTS (SELECT 1 FROM orosync_records r WHERE r.internal_entity_type = 'customers.person' AND r.internal_entity_id = e.id)
ORDER BY k.i, e.id`

const nativeEmailsSQL = `
SELECT DISTINCT lower(e.primary_email) FROM customer_entities e
WHERE e.tenant_id = $1 AND e.organization_id = $2 AND e.kind = 'person' AND e.deleted_at IS NULL AND e.primary_email IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM orosync_records r WHERE r.internal_entity_type = 'customers.person' AND r.internal_entity_id = e.id)`

// nativeEmails returns the (cached) emails of the tenant's people orosync did not create. A person created in
// Mercato less than nativesTTL ago may be missed by the email match; orosync then creates a second person.
func (s *Store) nativeEmails(ctx context.Context, tx pgx.Tx, tenant string, sc Scope) (map[string]struct{}, error) {
	s.nativesMu.Lock()
	defer s.nativesMu.Unlock()
	if n, ok := s.natives[tenant]; ok && time.Since(n.loadedAt) < s.nativesTTL {
		return n.set, nil
	}
	rows, err := tx.Query(ctx, nativeEmailsSQL, sc.TenantID, sc.OrganizationID)
	if err != nil {
		return nil, fmt.Errorf("writer: emails of Mercato's own people: %w", err)
	}
	set, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var e string
		return e, r.Scan(&e)
	})
	if err != nil {
		return nil, fmt.Errorf("writer: emails of Mercato's own people: %w", err)
	}
	n := nativeEmails{set: make(map[string]struct{}, len(set)), loadedAt: time.Now()}
	for _, e := range set {
		n.set[e] = struct{}{}
	}
	s.natives[tenant] = n
	return n.set, nil
}

// candidates finds, for each record new to orosync, the unlinked Mercato people with its email.
func (s *Store) candidates(ctx context.Context, tx pgx.Tx, lookup app.Lookup, stored map[domain.Key]*domain.Stored) (map[domain.Key][]domain.Candidate, error) {
	byTenant := map[string][]domain.Key{}
	for _, k := range lookup.Keys {
		if _, ok := stored[k]; ok || lookup.Emails[k] == "" || s.ciphers[k.Tenant] != nil {
			continue
		}
		byTenant[k.Tenant] = append(byTenant[k.Tenant], k)
	}
	out := map[domain.Key][]domain.Candidate{}
	for tenant, all := range byTenant {
		sc := s.scopes[tenant]
		natives, err := s.nativeEmails(ctx, tx, tenant, sc)
		if err != nil {
			return nil, err
		}
		var keys []domain.Key
		var emails []string
		for _, k := range all {
			if _, ok := natives[lookup.Emails[k]]; ok {
				keys = append(keys, k)
				emails = append(emails, lookup.Emails[k])
			}
		}
		if len(keys) == 0 {
			continue
		}
		rows, err := tx.Query(ctx, candidatesSQL, emails, sc.TenantID, sc.OrganizationID)
		if err != nil {
			return nil, fmt.Errorf("writer: email candidates: %w", err)
		}
		for rows.Next() {
			var (
				i               int64
				entity, profile uuid.UUID
				c               domain.Candidate
			)
			p := &c.Person
			if err := rows.Scan(&i, &entity, &profile, &p.DisplayName, &p.PrimaryEmail, &p.PrimaryPhone, &p.FirstName, &p.LastName,
				&p.JobTitle, &c.UpdatedAt, &p.Description, &p.LinkedInURL, &p.TwitterURL, &p.Source, &p.Status); err != nil {
				rows.Close()
				return nil, fmt.Errorf("writer: reading email candidate: %w", err)
			}
			c.EntityID, c.ProfileID = entity.String(), profile.String()
			k := keys[i-1]
			out[k] = append(out[k], c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("writer: email candidates: %w", err)
		}
	}
	// A Mercato person matched by two new records of one batch could be linked only once: both go to review.
	claimed := map[string]int{}
	for _, cs := range out {
		if len(cs) == 1 {
			claimed[cs[0].EntityID]++
		}
	}
	for k, cs := range out {
		if len(cs) == 1 && claimed[cs[0].EntityID] > 1 {
			out[k] = append(cs, cs[0]) // a second entry makes it ambiguous
		}
	}
	return out, nil
}
