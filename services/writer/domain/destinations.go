package domain

import "github.com/orosync/orosync/events"

// Destination is where the writer puts one payload field of an aggregate in Mercato: a column (Table.Column), a
// column holding a value of a Mercato dictionary (Dictionary: customer_dictionary_entries kind, whose entry the
// writer ensures as Mercato's commands do), rows of a table, custom fields, or only orosync's own bookkeeping
// (kept: the record's snapshot in orosync_records, with the reason).
type Destination struct {
	Kind       string `json:"kind"`
	Table      string `json:"table,omitempty"`
	Column     string `json:"column,omitempty"`
	Dictionary string `json:"dictionary,omitempty"`
	Note       string `json:"note,omitempty"`
}

// Destination kinds.
const (
	DestColumn      = "column"
	DestDictionary  = "dictionary"
	DestRows        = "rows"
	DestCustomField = "custom-field"
	DestKept        = "kept"
)

func col(table, column string) Destination {
	return Destination{Kind: DestColumn, Table: table, Column: column}
}

func dict(table, column, dictionary string) Destination {
	return Destination{Kind: DestDictionary, Table: table, Column: column, Dictionary: dictionary}
}

func rows(table, note string) Destination {
	return Destination{Kind: DestRows, Table: table, Note: note}
}

func kept(why string) Destination {
	return Destination{Kind: DestKept, Table: "orosync_records", Note: why}
}

// Destinations are, per aggregate and payload field (the JSON names of events' payloads), where the writer puts
// the field in Mercato; customFields is listed per key by the report (each key's definition).
func Destinations() map[string]map[string][]Destination {
	return map[string]map[string][]Destination{
		events.AggregatePerson:      personDestinations(),
		events.AggregateCompany:     companyDestinations(),
		events.AggregateDeal:        dealDestinations(),
		events.AggregateInteraction: interactionDestinations(),
		events.AggregateComment:     commentDestinations(),
		events.AggregateUser:        userDestinations(),
		"address":                   addressDestinations(),
	}
}

// The entity tables of people and companies.
const tEntities, tPeople, tCompanies = "customer_entities", "customer_people", "customer_companies"

// customs are the custom fields of a Mercato entity.
func customs(entity string) []Destination {
	return []Destination{{Kind: DestCustomField, Table: "custom_field_values", Note: entity}}
}

// userColumn is a Mercato user column set to the user with the Oro user's email; unmatched, kept in a custom field
// (when the entity has custom fields) and parked until a user matches.
func userColumn(table, column, note, field, entity string) []Destination {
	d := []Destination{{Kind: DestColumn, Table: table, Column: column, Note: note}}
	if field == "" {
		return append(d, kept("an unmatched Oro user waits for a Mercato user with its email (Mercato's comments have no custom fields)"))
	}
	return append(d, Destination{Kind: DestCustomField, Table: "custom_field_values", Column: field, Note: entity + ", when no Mercato user has it"})
}

// profileOwner: people's and companies' owner is the Mercato user with its email, else the custom field oro_owner.
func profileOwner(entity string) []Destination {
	return []Destination{{Kind: DestColumn, Table: tEntities, Column: "owner_user_id", Note: "the Mercato user with the Oro owner's email"},
		{Kind: DestCustomField, Table: "custom_field_values", Column: "oro_owner", Note: entity + ", when no Mercato user has it"}}
}

func keptOwner() []Destination {
	return []Destination{kept("the Oro owner; Mercato's owner_user_id names a Mercato user")}
}

func related() []Destination {
	return []Destination{kept("role-tagged Oro references, for the writer to resolve")}
}

func addressRows() []Destination {
	return []Destination{rows("customer_addresses", "one row per Oro address")}
}

func personDestinations() map[string][]Destination {
	return map[string][]Destination{
		"displayName": {col(tEntities, "display_name")}, "primaryEmail": {col(tEntities, "primary_email")},
		"primaryPhone": {col(tEntities, "primary_phone")}, "description": {col(tEntities, "description")},
		"source": {dict(tEntities, "source", "source")}, "status": {dict(tEntities, "status", "status")},
		"lifecycleStage": {dict(tEntities, "lifecycle_stage", "lifecycle_stage")},
		"firstName":      {col(tPeople, "first_name")}, "lastName": {col(tPeople, "last_name")},
		"jobTitle":    {dict(tPeople, "job_title", "job_title")},
		"linkedInUrl": {col(tPeople, "linked_in_url")}, "twitterUrl": {col(tPeople, "twitter_url")},
		"emails":    {kept("Mercato keeps one email (primary_email, the first)")},
		"phones":    {kept("Mercato keeps one phone (primary_phone, the first)")},
		"addresses": addressRows(),
		"companyLinks": {rows("customer_person_company_links", "one per Oro account, the default one primary"),
			col(tPeople, "company_entity_id")},
		"owner": profileOwner(events.CustomFieldEntity(events.AggregatePerson)), "related": related(),
		"customFields": customs(events.CustomFieldEntity(events.AggregatePerson)),
	}
}

func companyDestinations() map[string][]Destination {
	return map[string][]Destination{
		"displayName": {col(tEntities, "display_name")}, "primaryEmail": {col(tEntities, "primary_email")},
		"primaryPhone": {col(tEntities, "primary_phone")}, "description": {col(tEntities, "description")},
		"legalName": {col(tCompanies, "legal_name")}, "websiteUrl": {col(tCompanies, "website_url")},
		"industry":  {dict(tCompanies, "industry", "industry")},
		"mergeInto": {kept("a b2b customer with an account fills its account's company (a second external id)")},
		"addresses": addressRows(), "owner": profileOwner(events.CustomFieldEntity(events.AggregateCompany)), "related": related(),
		"customFields": customs(events.CustomFieldEntity(events.AggregateCompany)),
	}
}

func dealDestinations() map[string][]Destination {
	const t = "customer_deals"
	return map[string][]Destination{
		"title": {col(t, "title")}, "description": {col(t, "description")},
		"status":      {dict(t, "status", "deal_status"), col(t, "pipeline_stage")},
		"probability": {col(t, "probability")}, "valueAmount": {col(t, "value_amount")},
		"valueCurrency": {col(t, "value_currency")}, "expectedCloseAt": {col(t, "expected_close_at")},
		"lossReason": {col(t, "loss_notes")},
		"stage": {col(t, "pipeline_stage_id"), col(t, "pipeline_stage"),
			rows("customer_deal_stage_transitions", "one per stage the deal reached")},
		"pipeline":  {rows("customer_pipeline_stages", "one per Oro status, in Oro's order"), col(t, "pipeline_id")},
		"people":    {rows("customer_deal_people", "one per Oro contact")},
		"companies": {rows("customer_deal_companies", "one per Oro account or b2b customer")},
		"owner": userColumn(t, "owner_user_id", "the Mercato user with the Oro owner's email", "oro_owner",
			events.CustomFieldEntity(events.AggregateDeal)),
		"related": related(), "customFields": customs(events.CustomFieldEntity(events.AggregateDeal)),
	}
}

func interactionDestinations() map[string][]Destination {
	const t = "customer_interactions"
	entity := events.CustomFieldEntity(events.AggregateInteraction)
	return map[string][]Destination{
		"interactionType": {dict(t, "interaction_type", "activity_type"), col(t, "source")},
		"title":           {col(t, "title")}, "body": {col(t, "body")},
		"status":      {dict(t, "status", "interaction_status")},
		"priority":    {col(t, "priority")},
		"scheduledAt": {col(t, "scheduled_at")}, "occurredAt": {col(t, "occurred_at")},
		"durationMinutes": {col(t, "duration_minutes")},
		"direction":       {{Kind: DestCustomField, Table: "custom_field_values", Column: "oro_direction", Note: entity}},
		"entity":          {col(t, "entity_id"), col(t, "deal_id")},
		"participants": {{Kind: DestColumn, Table: t, Column: "participants",
			Note: "{userId, name, email} of the Mercato users with the emails of the Oro user targets"}},
		"linkedEntities": {col(t, "linked_entities")},
		"owner": append(userColumn(t, "owner_user_id", "a task's: its assignee", "oro_owner", entity),
			Destination{Kind: DestColumn, Table: t, Column: "author_user_id", Note: "a call's or case's: who logged it"}),
		"author":  userColumn(t, "author_user_id", "a task's creator", "oro_created_by", entity),
		"related": related(), "customFields": customs(entity),
	}
}

func commentDestinations() map[string][]Destination {
	return map[string][]Destination{
		"body":    {col("customer_comments", "body")},
		"targets": {rows("customer_comments", "one comment per target person, company or deal (entity_id, deal_id)")},
		"author":  userColumn("customer_comments", "author_user_id", "every comment row of the note", "", ""),
		"owner":   keptOwner(), "related": related(),
		"customFields": {kept("Mercato's comments have no custom fields")},
	}
}

func userDestinations() map[string][]Destination {
	return map[string][]Destination{
		"displayName": {kept("Oro users are directory entries, matched to no Mercato table")},
		"username":    {kept("directory entry")}, "email": {kept("directory entry")},
		"firstName": {kept("directory entry")}, "lastName": {kept("directory entry")}, "enabled": {kept("directory entry")},
		"owner": keptOwner(), "related": related(), "customFields": {kept("directory entry")},
	}
}

func addressDestinations() map[string][]Destination {
	const t = "customer_addresses"
	return map[string][]Destination{
		"name": {col(t, "name")}, "purpose": {dict(t, "purpose", "address_type")},
		"companyName":  {col(t, "company_name")},
		"addressLine1": {col(t, "address_line1")}, "addressLine2": {col(t, "address_line2")},
		"city": {col(t, "city")}, "region": {col(t, "region")},
		"postalCode": {col(t, "postal_code")}, "country": {col(t, "country")},
		"isPrimary":    {col(t, "is_primary")},
		"source":       {kept("the Oro address, its identity")},
		"customFields": {kept("Mercato's addresses have no custom fields")},
	}
}
