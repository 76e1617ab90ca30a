package fidelity

import "testing"

// inDictionary is the SQL condition that a column's value is an entry of a Mercato dictionary of the scope, as the
// customers commands ensure one for what they write (normalized_value = lower(trim(value))).
func inDictionary(kind, column string) string {
	return `EXISTS (SELECT 1 FROM customer_dictionary_entries dict WHERE dict.tenant_id = $1 AND dict.organization_id = $2
  AND dict.kind = '` + kind + `' AND dict.normalized_value = lower(btrim(` + column + `)))`
}

// Rows of customer_entities, customer_people, customer_companies, customer_person_company_links and
// customer_addresses against Mercato's person and company commands and validators (customers/data/validators.ts
// personCreateSchema, companyCreateSchema; commands/people.ts normalizeEmail; commands/addresses.ts).
func TestPeopleAndCompaniesAreRowsMercatosCommandsWouldWrite(t *testing.T) {
	s := syncFixtures(t)
	const entities = `SELECT count(*) FROM customer_entities WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL`
	s.check(t, []rule{
		{name: "display name trimmed, 1 to 200 characters", rows: entities, query: `
SELECT kind || ' ' || id || ' ' || coalesce(display_name, 'NULL') FROM customer_entities WHERE tenant_id = $1 AND organization_id = $2
  AND (display_name IS NULL OR display_name <> btrim(display_name) OR length(display_name) NOT BETWEEN 1 AND 200)`},
		{name: "a person's email lower-cased and trimmed, an email of at most 320", rows: entities + ` AND primary_email IS NOT NULL`, query: `
SELECT id || ' ' || primary_email FROM customer_entities WHERE tenant_id = $1 AND organization_id = $2 AND primary_email IS NOT NULL
  AND ((kind = 'person' AND primary_email <> lower(btrim(primary_email)))
       OR primary_email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' OR length(primary_email) > 320)`},
		{name: "kind person or company, active, created before updated", rows: entities, query: `
SELECT id || ' ' || kind FROM customer_entities WHERE tenant_id = $1 AND organization_id = $2
  AND (kind NOT IN ('person', 'company') OR NOT is_active OR created_at > updated_at)`},
		{name: "source, status and lifecycle stage are dictionary values", rows: entities + ` AND coalesce(source, status, lifecycle_stage) IS NOT NULL`, query: `
SELECT id || ' source=' || coalesce(source, '') || ' status=' || coalesce(status, '') || ' stage=' || coalesce(lifecycle_stage, '')
FROM customer_entities e WHERE tenant_id = $1 AND organization_id = $2
  AND ((source IS NOT NULL AND (length(source) > 150 OR NOT ` + inDictionary("source", "e.source") + `))
    OR (status IS NOT NULL AND (length(status) > 100 OR NOT ` + inDictionary("status", "e.status") + `))
    OR (lifecycle_stage IS NOT NULL AND (length(lifecycle_stage) > 100 OR NOT ` + inDictionary("lifecycle_stage", "e.lifecycle_stage") + `)))`},
		{name: "description at most 4000", rows: entities, query: `
SELECT id::text FROM customer_entities WHERE tenant_id = $1 AND organization_id = $2 AND length(description) > 4000`},
		{name: "every person has its customer_people row, every company its customer_companies row",
			rows: entities, query: `
SELECT e.kind || ' ' || e.id FROM customer_entities e WHERE e.tenant_id = $1 AND e.organization_id = $2 AND e.deleted_at IS NULL
  AND ((e.kind = 'person' AND NOT EXISTS (SELECT 1 FROM customer_people p WHERE p.entity_id = e.id))
    OR (e.kind = 'company' AND NOT EXISTS (SELECT 1 FROM customer_companies c WHERE c.entity_id = e.id)))`},
		{name: "names trimmed, 1 to 120; job title a dictionary value of at most 150",
			rows: `SELECT count(*) FROM customer_people WHERE tenant_id = $1 AND organization_id = $2`, query: `
SELECT id || ' ' || coalesce(first_name, '') || '/' || coalesce(last_name, '') || '/' || coalesce(job_title, '') FROM customer_people p
WHERE tenant_id = $1 AND organization_id = $2
  AND ((first_name IS NOT NULL AND (first_name <> btrim(first_name) OR length(first_name) NOT BETWEEN 1 AND 120))
    OR (last_name IS NOT NULL AND (last_name <> btrim(last_name) OR length(last_name) NOT BETWEEN 1 AND 120))
    OR (job_title IS NOT NULL AND (length(job_title) > 150 OR NOT ` + inDictionary("job_title", "p.job_title") + `)))`},
		{name: "social profiles are http(s) URLs of at most 300",
			rows: `SELECT count(*) FROM customer_people WHERE tenant_id = $1 AND organization_id = $2`, query: `
SELECT id || ' ' || coalesce(linked_in_url, '') || ' ' || coalesce(twitter_url, '') FROM customer_people WHERE tenant_id = $1 AND organization_id = $2
  AND (linked_in_url !~ '^https?://[^\s]+$' OR twitter_url !~ '^https?://[^\s]+$' OR length(linked_in_url) > 300 OR length(twitter_url) > 300)`},
		{name: "a person's company is its primary link's",
			rows: `SELECT count(*) FROM customer_person_company_links WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL`, query: `
SELECT p.entity_id || ' company ' || coalesce(p.company_entity_id::text, 'NULL') FROM customer_people p
WHERE p.tenant_id = $1 AND p.organization_id = $2
  AND p.company_entity_id IS DISTINCT FROM (SELECT l.company_entity_id FROM customer_person_company_links l
        WHERE l.person_entity_id = p.entity_id AND l.is_primary AND l.deleted_at IS NULL)`},
		{name: "one live link per person and company, at most one primary per person",
			rows: `SELECT count(*) FROM customer_person_company_links WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL`, query: `
SELECT person_entity_id || ' ' || count(*) || ' links, ' || count(*) FILTER (WHERE is_primary) || ' primary'
FROM customer_person_company_links WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL
GROUP BY person_entity_id HAVING count(*) FILTER (WHERE is_primary) > 1 OR count(*) <> count(DISTINCT company_entity_id)`},
		{name: "a company's legal name at most 200, industry a dictionary value",
			rows: `SELECT count(*) FROM customer_companies WHERE tenant_id = $1 AND organization_id = $2`, query: `
SELECT id || ' ' || coalesce(legal_name, '') FROM customer_companies c WHERE tenant_id = $1 AND organization_id = $2
  AND (length(legal_name) > 200 OR (industry IS NOT NULL AND NOT ` + inDictionary("industry", "c.industry") + `)
       OR website_url !~ '^https?://')`},
		{name: "addresses: a first line, a purpose of the address_type dictionary, one primary an entity",
			rows: `SELECT count(*) FROM customer_addresses WHERE tenant_id = $1 AND organization_id = $2`, query: `
SELECT a.entity_id || ' ' || a.address_line1 || ' ' || coalesce(a.purpose, '') FROM customer_addresses a
WHERE a.tenant_id = $1 AND a.organization_id = $2
  AND (btrim(a.address_line1) = '' OR (a.purpose IS NOT NULL AND NOT ` + inDictionary("address_type", "a.purpose") + `)
    OR (a.is_primary AND EXISTS (SELECT 1 FROM customer_addresses b WHERE b.entity_id = a.entity_id AND b.is_primary AND b.id <> a.id))
    OR NOT EXISTS (SELECT 1 FROM customer_entities e WHERE e.id = a.entity_id))`},
	})
	t.Run("Oro's contact 1 as Mercato's person command writes it", func(t *testing.T) {
		var display, email, first string
		if err := s.db.QueryRow(s.ctx, `SELECT e.display_name, e.primary_email, p.first_name FROM customer_entities e
JOIN customer_people p ON p.entity_id = e.id JOIN sync_external_id_mappings m ON m.internal_entity_id = e.id
WHERE m.external_id = 'contacts:contact1' AND m.deleted_at IS NULL`).Scan(&display, &email, &first); err != nil {
			t.Fatal(err)
		}
		if display != "Contact 1" || email != "contact1_2@example.com" || first != "Contact 1" {
			t.Errorf("display %q, email %q, first name %q", display, email, first)
		}
	})
}
