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
	const ent, ppl, cos = "customer_entities", "customer_people", "customer_companies"
	customs := func(entity string) []Destination {
		return []Destination{{Kind: DestCustomField, Table: "custom_field_values", Note: entity}}
	}
	owner := []Destination{kept("the Oro owner; Mercato's owner_user_id names a Mercato user")}
	// A Mercato user column set to the user with the Oro user's email; unmatched, kept in a custom field (when
	// the entity has custom fields) and parked until a user matches.
	user := func(table, column, note, field, entity string) []Destination {
		d := []Destination{{Kind: DestColumn, Table: table, Column: column, Note: note}}
		if field == "" {
			return append(d, kept("an unmatched Oro user waits for a Mercato user with its email (Mercato's comments have no custom fields)"))
		}
		return append(d, Destination{Kind: DestCustomField, Table: "custom_field_values", Column: field, Note: entity + ", when no Mercato user has it"})
	}
	interactions := events.CustomFieldEntity(events.AggregateInteraction)
	// People's and companies' owner is the Mercato user with its email, else the custom field oro_owner.
	profileOwner := func(entity string) []Destination {
		return []Destination{{Kind: DestColumn, Table: ent, Column: "owner_user_id", Note: "the Mercato user with the Oro owner's email"},
			{Kind: DestCustomField, Table: "custom_field_values", Column: "oro_owner", Note: entity + ", when no Mercato user has it"}}
	}
	related := []Destination{kept("role-tagged Oro references, for the writer to resolve")}
	addresses := []Destination{rows("customer_addresses", "one row per Oro address")}
	return map[string]map[string][]Destination{
		events.AggregatePerson: {
			"displayName": {col(ent, "display_name")}, "primaryEmail": {col(ent, "primary_email")},
			"primaryPhone": {col(ent, "primary_phone")}, "description": {col(ent, "description")},
			"source": {dict(ent, "source", "source")}, "status": {dict(ent, "status", "status")},
			"lifecycleStage": {dict(ent, "lifecycle_stage", "lifecycle_stage")},
			"firstName":      {col(ppl, "first_name")}, "lastName": {col(ppl, "last_name")},
			"jobTitle":    {dict(ppl, "job_title", "job_title")},
			"linkedInUrl": {col(ppl, "linked_in_url")}, "twitterUrl": {col(ppl, "twitter_url")},
			"emails":    {kept("Mercato keeps one email (primary_email, the first)")},
			"phones":    {kept("Mercato keeps one phone (primary_phone, the first)")},
			"addresses": addresses,
			"companyLinks": {rows("customer_person_company_links", "one per Oro account, the default one primary"),
				col(ppl, "company_entity_id")},
			"owner": profileOwner(events.CustomFieldEntity(events.AggregatePerson)), "related": related,
			"customFields": customs(events.CustomFieldEntity(events.AggregatePerson)),
		},
		events.AggregateCompany: {
			"displayName": {col(ent, "display_name")}, "primaryEmail": {col(ent, "primary_email")},
			"primaryPhone": {col(ent, "primary_phone")}, "description": {col(ent, "description")},
			"legalName": {col(cos, "legal_name")}, "websiteUrl": {col(cos, "website_url")},
			"industry":  {dict(cos, "industry", "industry")},
			"mergeInto": {kept("a b2b customer with an account fills its account's company (a second external id)")},
			"addresses": addresses, "owner": profileOwner(events.CustomFieldEntity(events.AggregateCompany)), "related": related,
			"customFields": customs(events.CustomFieldEntity(events.AggregateCompany)),
		},
		events.AggregateDeal: {
			"title": {col("customer_deals", "title")}, "description": {col("customer_deals", "description")},
			"status":      {dict("customer_deals", "status", "deal_status"), col("customer_deals", "pipeline_stage")},
			"probability": {col("customer_deals", "probability")}, "valueAmount": {col("customer_deals", "value_amount")},
			"valueCurrency": {col("customer_deals", "value_currency")}, "expectedCloseAt": {col("customer_deals", "expected_close_at")},
			"lossReason": {col("customer_deals", "loss_notes")},
			"stage": {col("customer_deals", "pipeline_stage_id"), col("customer_deals", "pipeline_stage"),
				rows("customer_deal_stage_transitions", "one per stage the deal reached")},
			"pipeline":  {rows("customer_pipeline_stages", "one per Oro status, in Oro's order"), col("customer_deals", "pipeline_id")},
			"people":    {rows("customer_deal_people", "one per Oro contact")},
			"companies": {rows("customer_deal_companies", "one per Oro account or b2b customer")},
			"owner": user("customer_deals", "owner_user_id", "the Mercato user with the Oro owner's email", "oro_owner",
				events.CustomFieldEntity(events.AggregateDeal)),
			"related": related, "customFields": customs(events.CustomFieldEntity(events.AggregateDeal)),
		},
		events.AggregateInteraction: {
			"interactionType": {dict("customer_interactions", "interaction_type", "activity_type"), col("customer_interactions", "source")},
			"title":           {col("customer_interactions", "title")}, "body": {col("customer_interactions", "body")},
			"status":      {dict("customer_interactions", "status", "interaction_status")},
			"priority":    {col("customer_interactions", "priority")},
			"scheduledAt": {col("customer_interactions", "scheduled_at")}, "occurredAt": {col("customer_interactions", "occurred_at")},
			"durationMinutes": {col("customer_interactions", "duration_minutes")},
			"direction":       {{Kind: DestCustomField, Table: "custom_field_values", Column: "oro_direction", Note: events.CustomFieldEntity(events.AggregateInteraction)}},
			"entity":          {col("customer_interactions", "entity_id"), col("customer_interactions", "deal_id")},
			"participants": {{Kind: DestColumn, Table: "customer_interactions", Column: "participants",
				Note: "{userId, name, email} of the Mercato users with the emails of the Oro user targets"}},
			"linkedEntities": {col("customer_interactions", "linked_entities")},
			"owner": append(user("customer_interactions", "owner_user_id", "a task's: its assignee", "oro_owner", interactions),
				Destination{Kind: DestColumn, Table: "customer_interactions", Column: "author_user_id", Note: "a call's or case's: who logged it"}),
			"author":  user("customer_interactions", "author_user_id", "a task's creator", "oro_created_by", interactions),
			"related": related, "customFields": customs(interactions),
		},
		events.AggregateComment: {
			"body":    {col("customer_comments", "body")},
			"targets": {rows("customer_comments", "one comment per target person, company or deal (entity_id, deal_id)")},
			"author":  user("customer_comments", "author_user_id", "every comment row of the note", "", ""),
			"owner":   owner, "related": related,
			"customFields": {kept("Mercato's comments have no custom fields")},
		},
		events.AggregateUser: {
			"displayName": {kept("Oro users are directory entries, matched to no Mercato table")},
			"username":    {kept("directory entry")}, "email": {kept("directory entry")},
			"firstName": {kept("directory entry")}, "lastName": {kept("directory entry")}, "enabled": {kept("directory entry")},
			"owner": owner, "related": related, "customFields": {kept("directory entry")},
		},
		"address": {
			"name": {col("customer_addresses", "name")}, "purpose": {dict("customer_addresses", "purpose", "address_type")},
			"companyName":  {col("customer_addresses", "company_name")},
			"addressLine1": {col("customer_addresses", "address_line1")}, "addressLine2": {col("customer_addresses", "address_line2")},
			"city": {col("customer_addresses", "city")}, "region": {col("customer_addresses", "region")},
			"postalCode": {col("customer_addresses", "postal_code")}, "country": {col("customer_addresses", "country")},
			"isPrimary":    {col("customer_addresses", "is_primary")},
			"source":       {kept("the Oro address, its identity")},
			"customFields": {kept("Mercato's addresses have no custom fields")},
		},
	}
}
