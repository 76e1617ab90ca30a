package events

// Aggregates beyond customers.person. Each Change carries exactly one payload, the one named by its Aggregate:
// person, company, deal, interaction, comment or user. Related records are referenced by Oro type and id (OroRef);
// the writer resolves them to Mercato ids through sync_external_id_mappings. Every field added here is optional, so
// a writer that knows only Person keeps working (it dead-letters aggregates it does not support).
const (
	// AggregateCompany is a customer_entities row of kind company plus its customer_companies row.
	AggregateCompany = "customers.company"
	// AggregateDeal is a customer_deals row with its customer_deal_people / customer_deal_companies links.
	AggregateDeal = "customers.deal"
	// AggregateInteraction is a customer_interactions row (task, call, email, case).
	AggregateInteraction = "customers.interaction"
	// AggregateComment is one customer_comments row per target (an Oro note).
	AggregateComment = "customers.comment"
	// AggregateUser is an Oro user or business unit kept as a directory entry, so owners and assignees (referenced
	// by OroRef everywhere) can be resolved or shown; Mercato has no customer table for it.
	AggregateUser = "orosync.user"
)

// OroRef names a related Oro record (JSON:API resource identifier).
type OroRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Extras are kept on every aggregate payload: what Mercato has no column for but the mapping keeps.
type Extras struct {
	// Owner is the Oro owner (users or businessunits); Mercato's owner_user_id is a Mercato user, so the writer
	// keeps this as metadata or resolves it when it knows the user.
	Owner *OroRef `json:"owner,omitempty"`
	// CustomFields go to custom_field_values (entity id = the aggregate's row, field key = map key); values are
	// JSON scalars, arrays or objects as the mapping produced them.
	CustomFields map[string]any `json:"customFields,omitempty"`
	// Related are further Oro records this one points to, with the role of the link (e.g. a converted lead's
	// "opportunity" and "contact"), for the writer to store or resolve.
	Related []RelatedRef `json:"related,omitempty"`
}

// RelatedRef is a role-tagged reference to another Oro record.
type RelatedRef struct {
	Role string `json:"role"`
	OroRef
}

// Address is one customer_addresses row of a person or company.
type Address struct {
	// Source is the Oro address resource (contactaddresses/accountaddresses ...), its external id.
	Source       OroRef  `json:"source"`
	Name         *string `json:"name"`
	Purpose      *string `json:"purpose"` // Oro address types joined with ",": billing, shipping
	CompanyName  *string `json:"companyName"`
	AddressLine1 *string `json:"addressLine1"` // NOT NULL in Mercato; the writer skips an address without it
	AddressLine2 *string `json:"addressLine2"`
	City         *string `json:"city"`
	Region       *string `json:"region"`
	PostalCode   *string `json:"postalCode"`
	Country      *string `json:"country"` // ISO 3166-1 alpha-2
	IsPrimary    bool    `json:"isPrimary"`
	// CustomFields of the address (Oro name parts of the addressee, ...).
	CustomFields map[string]any `json:"customFields,omitempty"`
}

// CompanyLink is one customer_person_company_links row: the person belongs to the company mapped from Oro
// account Company (type accounts). Exactly one link is primary when the contact has a default account; its
// company is customer_people.company_entity_id.
type CompanyLink struct {
	Company   OroRef `json:"company"`
	IsPrimary bool   `json:"isPrimary"`
}

// Company is the customers.company aggregate (customer_entities kind company + customer_companies).
type Company struct {
	DisplayName  string  `json:"displayName"`
	LegalName    *string `json:"legalName"`
	WebsiteURL   *string `json:"websiteUrl"`
	Industry     *string `json:"industry"`
	Description  *string `json:"description"`
	PrimaryEmail *string `json:"primaryEmail"`
	PrimaryPhone *string `json:"primaryPhone"`
	// MergeInto, when set, says this record (an Oro b2bcustomer with an account) is merged into the company of
	// that Oro record: the writer adds this record's id as a second external id of that company and fills only
	// fields the company lacks. Without it the record is a company of its own.
	MergeInto *OroRef   `json:"mergeInto,omitempty"`
	Addresses []Address `json:"addresses,omitempty"`
	Extras
}

// Deal is the customers.deal aggregate (customer_deals + links).
type Deal struct {
	Title       string  `json:"title"`
	Description *string `json:"description"`
	// Status is Mercato's deal status dictionary value (open, win, loose, ...), from the mapping's status table.
	Status string `json:"status"`
	// Probability in percent, 0-100 (Oro keeps a fraction).
	Probability *int `json:"probability"`
	// ValueAmount is a decimal string (numeric(14,2)); ValueCurrency an ISO 4217 code.
	ValueAmount   *string `json:"valueAmount"`
	ValueCurrency *string `json:"valueCurrency"`
	// ExpectedCloseAt is a date, YYYY-MM-DD.
	ExpectedCloseAt *string `json:"expectedCloseAt"`
	// LossReason is Oro's close reason id when the deal is lost (loss_notes / loss_reason).
	LossReason *string `json:"lossReason"`
	// People and Companies become customer_deal_people / customer_deal_companies rows.
	People    []OroRef `json:"people,omitempty"`
	Companies []OroRef `json:"companies,omitempty"`
	// Stage is the deal's Oro status as a stage of Mercato's pipeline; Pipeline every Oro status in Oro's order,
	// the stages of the board the deal is on. Without them (older mappings) the stage is named after Status.
	Stage    *DealStage  `json:"stage,omitempty"`
	Pipeline []DealStage `json:"pipeline,omitempty"`
	Extras
}

// DealStage is an Oro opportunity status as a Mercato pipeline stage: Oro's enum id, its label (the stage's name),
// its place in Oro's order (the stage's position) and Oro's default probability for it, in percent.
type DealStage struct {
	ID          string `json:"id"`
	Label       string `json:"label"`
	Order       int    `json:"order"`
	Probability *int   `json:"probability"`
}

// Interaction is the customers.interaction aggregate (customer_interactions).
type Interaction struct {
	InteractionType string  `json:"interactionType"` // task, call, email, case
	Title           *string `json:"title"`
	Body            *string `json:"body"`
	Status          string  `json:"status"` // Mercato status (planned, done, canceled, ...)
	Priority        *int    `json:"priority"`
	// ScheduledAt and OccurredAt are RFC 3339 timestamps.
	ScheduledAt     *string `json:"scheduledAt"`
	OccurredAt      *string `json:"occurredAt"`
	DurationMinutes *int    `json:"durationMinutes"`
	Direction       *string `json:"direction"` // incoming, outgoing (calls, emails)
	// Entity is the primary target (entity_id); Participants every activity target (participants jsonb) and
	// LinkedEntities the same list for linked_entities, so no target is lost.
	Entity         *OroRef  `json:"entity"`
	Participants   []OroRef `json:"participants,omitempty"`
	LinkedEntities []OroRef `json:"linkedEntities,omitempty"`
	// Author is the Oro user who created the record when Oro keeps one apart from its owner (a task's createdBy).
	Author *OroRef `json:"author,omitempty"`
	Extras
}

// Comment is the customers.comment aggregate: one customer_comments row per target.
type Comment struct {
	Body    string   `json:"body"`
	Targets []OroRef `json:"targets"`
	Author  *OroRef  `json:"author"`
	Extras
}

// User is an Oro user or business unit (orosync.user), kept so OroRefs to owners can be shown and resolved.
type User struct {
	DisplayName string  `json:"displayName"`
	Username    *string `json:"username"`
	Email       *string `json:"email"`
	FirstName   *string `json:"firstName"`
	LastName    *string `json:"lastName"`
	Enabled     *bool   `json:"enabled"`
	Extras
}
