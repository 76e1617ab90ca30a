package events

// InteractionEvent is the payload of customers.interaction.* (Mercato reference §3): the default record shape plus
// the interaction's entity, type, status and source.
type InteractionEvent struct {
	ID              string  `json:"id"`
	OrganizationID  string  `json:"organizationId"`
	TenantID        string  `json:"tenantId"`
	EntityID        string  `json:"entityId"`
	InteractionType string  `json:"interactionType"`
	Status          string  `json:"status"`
	Source          *string `json:"source"`
	SyncOrigin      string  `json:"syncOrigin"`
}

// AggregateCompanyMerge is the internal_entity_type orosync_records gives a record merged into another record's
// company (an Oro b2bcustomer with an account): it has no Mercato row of its own, only a second external id.
const AggregateCompanyMerge = "orosync.company_merge"

// DealClosureEvent is the payload of customers.deal.won and customers.deal.lost (Mercato reference §3), emitted
// when a deal's status moves to win or loose.
type DealClosureEvent struct {
	ID             string  `json:"id"`
	TenantID       string  `json:"tenantId"`
	OrganizationID string  `json:"organizationId"`
	OwnerUserID    *string `json:"ownerUserId"`
	Title          string  `json:"title"`
	ValueAmount    *string `json:"valueAmount"`
	ValueCurrency  *string `json:"valueCurrency"`
	SyncOrigin     string  `json:"syncOrigin"`
}

// InteractionCompletedEvent is the payload of customers.interaction.completed: the interaction's, with the time it
// happened (Mercato's complete command: commands/interactions.ts).
type InteractionCompletedEvent struct {
	InteractionEvent
	OccurredAt *string `json:"occurredAt"`
}

// NextInteractionEvent is the payload of customers.next_interaction.updated, which Mercato's interaction commands
// emit for the entity whose next-interaction projection they recomputed (id is the entity's).
type NextInteractionEvent struct {
	ID                string  `json:"id"`
	EntityID          string  `json:"entityId"`
	NextInteractionID *string `json:"nextInteractionId"`
	OrganizationID    string  `json:"organizationId"`
	TenantID          string  `json:"tenantId"`
	SyncOrigin        string  `json:"syncOrigin"`
}
