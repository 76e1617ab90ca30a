package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

// Deleting a person or company removes with it what Mercato's delete command removes (customers/commands/people.ts
// and companies.ts delete: comments, interactions and custom field values of the entity and its profile), soft
// where Mercato's table has deleted_at: those rows get the entity's own deleted_at, so a resurrected record brings
// back exactly them (rows deleted on their own, earlier or later, keep their time and stay deleted). Addresses and
// company links follow the record's versions (addresses.go, links.go). Rows of tables without deleted_at
// (activities, todo links, tag assignments, addresses added in Mercato) are kept, hidden behind the deleted
// entity, so that resurrection finds them; deal links follow the deals. Like Mercato's native deletes, none of
// these emits an event.

// cascadeDeleteSQL soft-deletes the live dependents of entities being deleted ($1 entities, $2 their profile ids,
// $3 the batch's time, which the entity's deleted_at becomes unless it has one). Custom field values are found per
// entity (LATERAL) and updated by id: joined, the planner without statistics compared every value with every entity.
const cascadeDeleteSQL = `
WITH e AS (SELECT k.entity AS id, k.profile, coalesce(x.deleted_at, $3) AS at
           FROM unnest($1::uuid[], $2::text[]) AS k(entity, profile) JOIN customer_entities x ON x.id = k.entity),
c AS (UPDATE customer_comments x SET deleted_at = e.at FROM e WHERE x.entity_id = e.id AND x.deleted_at IS NULL RETURNING 1),
i AS (UPDATE customer_interactions x SET deleted_at = e.at FROM e WHERE x.entity_id = e.id AND x.deleted_at IS NULL RETURNING 1),
f AS (SELECT f.id, e.at FROM e CROSS JOIN LATERAL (
        SELECT v.id FROM custom_field_values v
        WHERE v.entity_id IN ('customers:customer_entity', 'customers:customer_person_profile', 'customers:customer_company_profile')
          AND v.record_id IN (e.id::text, e.profile) AND v.deleted_at IS NULL OFFSET 0) f)
UPDATE custom_field_values x SET deleted_at = f.at FROM f WHERE x.id = ANY(ARRAY(SELECT id FROM f)) AND x.id = f.id`

// cascadeBackSQL restores the dependents a deletion took (deleted_at = the entity's), before the entity comes back.
const cascadeBackSQL = `
WITH e AS (SELECT k.entity AS id, k.profile, x.deleted_at AS at
           FROM unnest($1::uuid[], $2::text[]) AS k(entity, profile) JOIN customer_entities x ON x.id = k.entity
           WHERE x.deleted_at IS NOT NULL),
c AS (UPDATE customer_comments x SET deleted_at = NULL FROM e WHERE x.entity_id = e.id AND x.deleted_at = e.at RETURNING 1),
i AS (UPDATE customer_interactions x SET deleted_at = NULL FROM e WHERE x.entity_id = e.id AND x.deleted_at = e.at RETURNING 1),
f AS (SELECT f.id FROM e CROSS JOIN LATERAL (
        SELECT v.id FROM custom_field_values v
        WHERE v.entity_id IN ('customers:customer_entity', 'customers:customer_person_profile', 'customers:customer_company_profile')
          AND v.record_id IN (e.id::text, e.profile) AND v.deleted_at = e.at OFFSET 0) f)
UPDATE custom_field_values x SET deleted_at = NULL WHERE x.id = ANY(ARRAY(SELECT id FROM f))`

// cascade lists the entities a batch deletes and those it brings back, with their profile rows.
type cascade struct {
	gone, back                 []uuid.UUID
	goneProfiles, backProfiles []string
}

// add notes an entity whose deletion changes from before to after.
func (c *cascade) add(entity, profile uuid.UUID, before, after bool) {
	switch {
	case !before && after:
		c.gone, c.goneProfiles = append(c.gone, entity), append(c.goneProfiles, profile.String())
	case before && !after:
		c.back, c.backProfiles = append(c.back, entity), append(c.backProfiles, profile.String())
	}
}

// exec runs (or queues) the statements; it must precede the update of the entities' deleted_at.
func (c *cascade) exec(ctx context.Context, tx execer, now time.Time) error {
	if len(c.gone) > 0 {
		if _, err := tx.Exec(ctx, cascadeDeleteSQL, rowkit.UUIDs(c.gone), c.goneProfiles, now); err != nil {
			return fmt.Errorf("writer: deleting what deleted records held: %w", err)
		}
	}
	if len(c.back) > 0 {
		if _, err := tx.Exec(ctx, cascadeBackSQL, rowkit.UUIDs(c.back), c.backProfiles); err != nil {
			return fmt.Errorf("writer: restoring what resurrected records held: %w", err)
		}
	}
	return nil
}
