package fidelity

import "testing"

// liveUser is the SQL condition that a column names a live Mercato user of the scope's tenant, as Mercato's
// owner and author pickers offer them (auth users of the tenant).
func liveUser(column string) string {
	return `EXISTS (SELECT 1 FROM users u WHERE u.id = ` + column + ` AND u.tenant_id = $1 AND u.deleted_at IS NULL)`
}

// The Mercato user columns against Mercato's commands (customers/commands/people.ts, companies.ts and deals.ts
// ownerUserId; interactions.ts ownerUserId, authorUserId and participants, interactionParticipantSchema;
// comments.ts authorUserId): each names a live user of the tenant, set where the Oro user has a Mercato user, and
// an Oro owner with none is kept in the custom field oro_owner instead.
func TestOwnerColumnsNameMercatoUsersOfTheTenant(t *testing.T) {
	s := syncFixtures(t)
	s.check(t, []rule{
		{name: "people's and companies' owner is a live user of the tenant", rows: `SELECT count(*) FROM customer_entities
WHERE tenant_id = $1 AND organization_id = $2 AND owner_user_id IS NOT NULL`, query: `
SELECT kind || ' ' || id || ' owner ' || owner_user_id FROM customer_entities e
WHERE tenant_id = $1 AND organization_id = $2 AND owner_user_id IS NOT NULL AND NOT ` + liveUser("e.owner_user_id")},
		{name: "deals' owner is a live user of the tenant", rows: `SELECT count(*) FROM customer_deals
WHERE tenant_id = $1 AND organization_id = $2 AND owner_user_id IS NOT NULL`, query: `
SELECT id || ' owner ' || owner_user_id FROM customer_deals d
WHERE tenant_id = $1 AND organization_id = $2 AND owner_user_id IS NOT NULL AND NOT ` + liveUser("d.owner_user_id")},
		{name: "interactions' owner and author are live users of the tenant", rows: `SELECT count(*) FROM customer_interactions
WHERE tenant_id = $1 AND organization_id = $2 AND coalesce(owner_user_id, author_user_id) IS NOT NULL`, query: `
SELECT id || ' owner ' || coalesce(owner_user_id::text, '-') || ' author ' || coalesce(author_user_id::text, '-')
FROM customer_interactions i WHERE tenant_id = $1 AND organization_id = $2
  AND ((owner_user_id IS NOT NULL AND NOT ` + liveUser("i.owner_user_id") + `)
    OR (author_user_id IS NOT NULL AND NOT ` + liveUser("i.author_user_id") + `))`},
		{name: "only a task has an owner (its assignee); other activities have an author", rows: `SELECT count(*) FROM customer_interactions
WHERE tenant_id = $1 AND organization_id = $2 AND owner_user_id IS NOT NULL`, query: `
SELECT id || ' ' || interaction_type FROM customer_interactions
WHERE tenant_id = $1 AND organization_id = $2 AND owner_user_id IS NOT NULL AND interaction_type <> 'task'`},
		{name: "participants are live users of the tenant, once each", rows: `SELECT count(*) FROM customer_interactions
WHERE tenant_id = $1 AND organization_id = $2 AND participants IS NOT NULL`, query: `
SELECT i.id || ' ' || x::text FROM customer_interactions i, jsonb_array_elements(i.participants) x
WHERE i.tenant_id = $1 AND i.organization_id = $2 AND i.participants IS NOT NULL
  AND (NOT ` + liveUser("(x->>'userId')::uuid") + ` OR length(x->>'name') > 200 OR length(x->>'email') > 320
    OR (SELECT count(*) FROM jsonb_array_elements(i.participants) y WHERE y->>'userId' = x->>'userId') > 1)`},
		{name: "comments' author is a live user of the tenant", rows: `SELECT count(*) FROM customer_comments
WHERE tenant_id = $1 AND organization_id = $2 AND author_user_id IS NOT NULL`, query: `
SELECT id || ' author ' || author_user_id FROM customer_comments c
WHERE tenant_id = $1 AND organization_id = $2 AND author_user_id IS NOT NULL AND NOT ` + liveUser("c.author_user_id")},
		{name: "an Oro owner kept in oro_owner has no Mercato user: its record's owner column is empty", rows: `SELECT count(*) FROM custom_field_values
WHERE tenant_id = $1 AND organization_id = $2 AND field_key = 'oro_owner' AND deleted_at IS NULL`, query: `
SELECT v.entity_id || ' ' || v.record_id || ' ' || coalesce(v.value_text, '') FROM custom_field_values v
WHERE v.tenant_id = $1 AND v.organization_id = $2 AND v.field_key = 'oro_owner' AND v.deleted_at IS NULL
  AND (EXISTS (SELECT 1 FROM customer_people p JOIN customer_entities e ON e.id = p.entity_id
               WHERE p.id::text = v.record_id AND e.owner_user_id IS NOT NULL)
    OR EXISTS (SELECT 1 FROM customer_companies c JOIN customer_entities e ON e.id = c.entity_id
               WHERE c.id::text = v.record_id AND e.owner_user_id IS NOT NULL)
    OR EXISTS (SELECT 1 FROM customer_deals d WHERE d.id::text = v.record_id AND d.owner_user_id IS NOT NULL)
    OR EXISTS (SELECT 1 FROM customer_interactions i WHERE i.id::text = v.record_id
               AND CASE WHEN i.interaction_type = 'task' THEN i.owner_user_id ELSE i.author_user_id END IS NOT NULL))`},
	})
}
