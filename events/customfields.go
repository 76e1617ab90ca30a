package events

// CustomFieldDef is one Mercato custom field definition (a custom_field_defs row) orosync creates for a custom
// field key its mapping puts in an aggregate's customFields: Mercato's forms, list columns and filters show a key
// only through its definition, and its kind decides the value column (entities/lib/helpers.ts columnFromKind).
type CustomFieldDef struct {
	// Entity is Mercato's entity id of the rows the values belong to (CustomFieldEntity).
	Entity string `json:"entity"`
	Key    string `json:"key"`
	// Kind is a Mercato field kind (IsCustomFieldKind).
	Kind        string `json:"kind"`
	Label       string `json:"label,omitempty"`
	Description string `json:"description,omitempty"`
	// Options are the values of a select.
	Options []string `json:"options,omitempty"`
	// Multi: one value row per element (an Oro list).
	Multi      bool `json:"multi,omitempty"`
	Filterable bool `json:"filterable,omitempty"`
	// Hidden keeps the field out of list columns (config listVisible false; Mercato's default shows it).
	Hidden bool `json:"hidden,omitempty"`
}

// CustomFieldEntity is the Mercato entity whose custom fields an aggregate's customFields are ("" for aggregates
// without any): people's and companies' go to their profile rows, as Mercato's commands route them
// (customers/lib/customFieldRouting.ts).
func CustomFieldEntity(aggregate string) string {
	switch aggregate {
	case AggregatePerson:
		return "customers:customer_person_profile"
	case AggregateCompany:
		return "customers:customer_company_profile"
	case AggregateDeal:
		return "customers:customer_deal"
	case AggregateInteraction:
		return "customers:customer_interaction"
	}
	return ""
}

// IsCustomFieldKind says whether orosync can define a field of kind: one of Mercato's kinds columnFromKind places
// (text, select, currency and phone in value_text, multiline in value_multiline, integer in value_int, float in
// value_float, boolean in value_bool); dictionary is left out, Mercato requires a dictionary for it.
func IsCustomFieldKind(kind string) bool {
	switch kind {
	case "text", "multiline", "integer", "float", "boolean", "select", "currency", "phone":
		return true
	}
	return false
}
