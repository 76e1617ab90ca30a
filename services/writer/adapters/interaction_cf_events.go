package adapters

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

const interactionCFEventsSQL = `
SELECT i.id, i.entity_id, i.interaction_type, i.status, i.source, e.next_interaction_ref_id
FROM customer_interactions i JOIN customer_entities e ON e.id = i.entity_id
WHERE i.id = ANY($1::uuid[]) AND i.deleted_at IS NULL`

// interactionCustomFieldEvents announces interactions whose custom fields alone changed as Mercato's interaction
// update command does whatever it changed (commands/interactions.ts): customers.interaction.updated with the
// row's entity, type, status and source, then customers.next_interaction.updated of its entity.
func interactionCustomFieldEvents(ctx context.Context, tx pgx.Tx, recs []cfRecord) ([]model.OrosyncOutbox, error) {
	ids := make([]uuid.UUID, len(recs))
	for i, r := range recs {
		ids[i] = r.record
	}
	rows, err := tx.Query(ctx, interactionCFEventsSQL, rowkit.UUIDs(ids))
	if err != nil {
		return nil, fmt.Errorf("writer: reading interactions whose custom fields changed: %w", err)
	}
	type found struct {
		entity            uuid.UUID
		typ, status       string
		source, nextInter *string
	}
	byID := map[uuid.UUID]found{}
	for rows.Next() {
		var id uuid.UUID
		var f found
		if err := rows.Scan(&id, &f.entity, &f.typ, &f.status, &f.source, &f.nextInter); err != nil {
			rows.Close()
			return nil, fmt.Errorf("writer: reading interactions whose custom fields changed: %w", err)
		}
		byID[id] = f
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: reading interactions whose custom fields changed: %w", err)
	}
	var out []model.OrosyncOutbox
	for _, r := range recs {
		f, ok := byID[r.record]
		if !ok {
			continue
		}
		org, ten := r.sc.OrganizationID.String(), r.sc.TenantID.String()
		salt := "custom-fields/" + rowkit.Digest(r.next)
		updated := events.InteractionEvent{ID: r.record.String(), OrganizationID: org, TenantID: ten, EntityID: f.entity.String(),
			InteractionType: f.typ, Status: f.status, Source: f.source, SyncOrigin: events.SyncOrigin}
		next := events.NextInteractionEvent{ID: f.entity.String(), EntityID: f.entity.String(), NextInteractionID: f.nextInter,
			OrganizationID: org, TenantID: ten, SyncOrigin: events.SyncOrigin}
		for _, e := range []struct {
			name, subject string
			payload       any
		}{{interactionEvent + "updated", r.record.String(), updated}, {"customers.next_interaction.updated", f.entity.String(), next}} {
			row, err := rowkit.EventRow(r.tenant, e.name, e.payload, e.subject, r.version, r.mapping, salt)
			if err != nil {
				return nil, err
			}
			out = append(out, row)
		}
	}
	return out, nil
}
