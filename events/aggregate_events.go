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
