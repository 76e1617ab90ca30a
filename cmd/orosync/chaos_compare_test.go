//go:build chaos

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/oro"
	transformer "github.com/orosync/orosync/services/transformer/service"
)

// comparison is Oro's contacts against Mercato's persons, record by record.
type comparison struct {
	oro, mercato int
	// refused counts the Oro contacts the mapping dead-letters: none of them may be in Mercato.
	refused    int
	mismatches []string
}

// personSum is the checksum of one record as Mercato should hold it: the version applied, whether it lives, and
// the person's columns. Oro's side is what the shipped mapping makes of the contact; Mercato's is read from its
// tables, found through its external id mapping as Mercato finds it.
func personSum(version time.Time, fields ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s", version.UTC().Format(time.RFC3339Nano))
	for _, f := range fields {
		fmt.Fprintf(h, "\x00%s", f)
	}
	return fmt.Sprintf("%x", h.Sum(nil)[:12])
}

// compareOroWithMercato lists every Oro contact and every synced Mercato person and names each record whose
// checksums differ, or that lives on one side only.
func compareOroWithMercato(ctx context.Context, pool *pgxpool.Pool, simURL string) (comparison, error) {
	want, refused, err := oroSums(ctx, simURL)
	if err != nil {
		return comparison{}, err
	}
	got, err := mercatoSums(ctx, pool)
	if err != nil {
		return comparison{}, err
	}
	cmp := comparison{oro: len(want), mercato: len(got), refused: refused}
	for id, w := range want {
		switch g, ok := got[id]; {
		case !ok:
			cmp.mismatches = append(cmp.mismatches, "contact "+id+": no live person in Mercato")
		case g != w:
			cmp.mismatches = append(cmp.mismatches, "contact "+id+": checksums differ (Oro "+w+", Mercato "+g+")")
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			cmp.mismatches = append(cmp.mismatches, "contact "+id+": a live person in Mercato, none in Oro")
		}
	}
	slices.Sort(cmp.mismatches)
	return cmp, nil
}

// oroSums maps every contact Oro lists with the shipped mapping, as the transformer does, and returns their
// checksums by id and how many the mapping refuses.
func oroSums(ctx context.Context, simURL string) (map[string]string, int, error) {
	c, err := oro.New(ctx, oro.Config{BaseURL: simURL + "/api", ClientID: "orosync", ClientSecret: chaosSecret, UserAgent: "orosync-chaos"})
	if err != nil {
		return nil, 0, err
	}
	page, err := c.List(ctx, "contacts", oro.Query{PageSize: -1, NoHateoas: true})
	if err != nil {
		return nil, 0, err
	}
	var doc bytes.Buffer
	doc.WriteString(`{"data":[`)
	for i, r := range page.Data {
		if i > 0 {
			doc.WriteByte(',')
		}
		doc.Write(r.Raw)
	}
	doc.WriteString(`]}`)
	records, err := transformer.ParseDocument(doc.Bytes(), chaosTenant, time.Now().UTC())
	if err != nil {
		return nil, 0, err
	}
	m, err := transformer.LoadMapping("")
	if err != nil {
		return nil, 0, err
	}
	out := make(map[string]string, len(records))
	refused := 0
	for _, l := range m.Preview(records) {
		switch {
		case l.DeadLetter != nil:
			refused++
		case l.Change == nil || l.Change.Person == nil:
			return nil, 0, fmt.Errorf("contact %s maps to no person: %s", l.Record.ID, l.Skipped)
		default:
			p := l.Change.Person
			out[l.Record.ID] = personSum(l.Change.SourceVersion.UpdatedAt, p.DisplayName, deref(p.PrimaryEmail), deref(p.PrimaryPhone),
				deref(p.FirstName), deref(p.LastName), deref(p.JobTitle))
		}
	}
	return out, refused, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// mercatoSums reads every live person synced from an Oro contact, with the version orosync applied to it. A
// contact with two live persons is reported under both checksums, so it never matches. The tables were just filled
// in bulk, so they are analyzed first (with stale statistics PostgreSQL joins them by nested loops for minutes).
func mercatoSums(ctx context.Context, pool *pgxpool.Pool) (map[string]string, error) {
	if _, err := pool.Exec(ctx, `ANALYZE sync_external_id_mappings, customer_entities, customer_people, orosync_records`); err != nil {
		return nil, err
	}
	scope := []any{uuid.MustParse(defaultTenantID), uuid.MustParse(defaultOrgID)}
	versions := map[string]time.Time{}
	rows, err := pool.Query(ctx, `SELECT source_id, source_updated_at FROM orosync_records
WHERE tenant_id = $1 AND organization_id = $2 AND source_type = 'contacts' AND deleted_at IS NULL`, scope...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			id string
			at time.Time
		)
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		versions[id] = at
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = pool.Query(ctx, `
SELECT substr(m.external_id, length('contacts:') + 1), e.display_name, coalesce(e.primary_email, ''),
       coalesce(e.primary_phone, ''), coalesce(p.first_name, ''), coalesce(p.last_name, ''), coalesce(p.job_title, '')
FROM sync_external_id_mappings m
JOIN customer_entities e ON e.id = m.internal_entity_id AND e.kind = 'person' AND e.deleted_at IS NULL
JOIN customer_people p ON p.entity_id = e.id AND p.tenant_id = e.tenant_id AND p.organization_id = e.organization_id
WHERE m.integration_id = 'sync_orocrm' AND m.internal_entity_type = 'customers.person' AND starts_with(m.external_id, 'contacts:')
  AND e.tenant_id = $1 AND e.organization_id = $2`, scope...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var (
			id string
			f  [6]string
		)
		if err := rows.Scan(&id, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5]); err != nil {
			return nil, err
		}
		sum := personSum(versions[id], f[:]...)
		if prev, ok := out[id]; ok {
			sum = strings.Join([]string{prev, sum}, "+")
		}
		out[id] = sum
	}
	return out, rows.Err()
}
